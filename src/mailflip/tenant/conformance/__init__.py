"""Conformance of mailflip's Microsoft 365 calls to what Microsoft publishes.

Both the tenant adapter (before a request leaves) and the local Microsoft 365 simulator
(when one arrives, answering 400) call the same checks, so the simulator cannot accept
what the real service would refuse::

    from mailflip.tenant.conformance import check_request, check_cmdlet

    check_request("POST", "/users/{id}/assignLicense",
                  {"addLicenses": [{"skuId": sku}], "removeLicenses": []})
    check_request("GET", "https://graph.microsoft.com/v1.0/users?$select=id,mail")
    check_cmdlet("Add-MailboxPermission",
                 {"Identity": "a@contoso.com", "User": sp_id, "AccessRights": ["FullAccess"]})
    check_invoke_command({"CmdletInput": {"CmdletName": "Get-Mailbox",
                                          "Parameters": {"Identity": "a@contoso.com"}}})

A refusal is `GraphNonConformant` / `CmdletNonConformant` (both `NonConformant`, in
`mailflip.errors`) whose `part` is the offending segment, option, property, cmdlet or
parameter. The sources are `v1.0-cleanMetadata.xml` (Graph v1.0 CSDL) and
`exo-cmdlets.md` in `spec_dir` (default: ../shared/spec/graph from the repository's
root), read on first use and cached per file for the life of the process.
"""

from mailflip.tenant.conformance.exo import check_cmdlet, check_invoke_command, cmdlet_table
from mailflip.tenant.conformance.graph import allowed_methods, check_request, graph_model
from mailflip.tenant.conformance.spec import default_spec_dir

__all__ = ["allowed_methods", "check_cmdlet", "check_invoke_command", "check_request",
           "cmdlet_table", "default_spec_dir", "graph_model"]
