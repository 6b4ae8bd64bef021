"""Exchange Online conformance (mailflip.tenant.conformance): the cmdlet calls of M365.md
pass; an unlisted cmdlet, an unknown parameter or a badly typed switch is refused by name."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mailflip.errors import CmdletNonConformant, ConformanceSpecMissing, MailflipError
from mailflip.tenant.conformance import check_cmdlet, check_invoke_command, cmdlet_table

SP = "6fd2c87f-b296-42f0-b197-1e91e994b900"


def refused(name: str, parameters: dict[str, object]) -> CmdletNonConformant:
    with pytest.raises(CmdletNonConformant) as caught:
        check_cmdlet(name, parameters)
    return caught.value


MAILFLIP_CALLS: list[tuple[str, dict[str, object]]] = [
    ("Get-Mailbox", {"Identity": "ann@contoso.com"}),
    ("New-Mailbox", {"Shared": True, "Name": "Info", "PrimarySmtpAddress": "info@contoso.com"}),
    ("New-Mailbox", {"PublicFolder": True, "Name": "PF1"}),
    ("Set-Mailbox", {"Identity": "ann", "WindowsEmailAddress": "ann@fabrikam.com"}),
    ("Set-Mailbox", {"Identity": "ann", "EmailAddresses": {"Add": "smtp:a@fabrikam.com"}}),
    ("Set-Mailbox", {"Identity": "info", "GrantSendOnBehalfTo": ["ann"]}),
    ("New-DistributionGroup", {"Name": "Sales", "Type": "Distribution",
                               "PrimarySmtpAddress": "sales@contoso.com"}),
    ("Add-DistributionGroupMember", {"Identity": "Sales", "Member": "ann"}),
    ("New-MailContact", {"Name": "Bob", "ExternalEmailAddress": "bob@example.com"}),
    ("New-PublicFolder", {"Name": "Projects", "Path": "\\"}),
    ("Enable-MailPublicFolder", {"Identity": "\\Projects"}),
    ("Add-PublicFolderClientPermission", {"Identity": "\\Projects", "User": "ann",
                                          "AccessRights": ["Owner"]}),
    ("Add-MailboxPermission", {"Identity": "ann", "User": SP, "AccessRights": ["FullAccess"],
                               "AutoMapping": False}),
    ("Add-RecipientPermission", {"Identity": "info", "Trustee": "ann", "AccessRights": ["SendAs"]}),
    ("Set-CASMailbox", {"Identity": "ann", "ImapEnabled": True}),
    ("New-ServicePrincipal", {"AppId": SP, "ObjectId": SP, "DisplayName": "MigrationApp"}),
    ("New-ManagementRoleAssignment", {"App": SP, "Role": "Application Mail.ReadWrite",
                                      "CustomResourceScope": "mailflip"}),
    ("New-TransportRule", {"Name": "r1"}),
    ("New-InboundConnector", {"Name": "c1", "ConnectorType": "OnPremises",
                              "SenderDomains": ["*"]}),
    ("Remove-ManagementRoleAssignment", {"Identity": "ra", "Force": True}),
    ("Remove-MailboxPermission", {"Identity": "ann", "User": SP, "AccessRights": ["FullAccess"]}),
    ("Remove-ServicePrincipal", {"Identity": SP}),
    ("Get-AcceptedDomain", {}),
    ("Get-OrganizationConfig", {}),
]


@pytest.mark.parametrize(("name", "parameters"), MAILFLIP_CALLS,
                         ids=[f"{n}:{','.join(p)}" for n, p in MAILFLIP_CALLS])
def test_cmdlet_calls_of_the_operation_map_conform(name: str, parameters: dict[str, object]
                                                   ) -> None:
    assert check_cmdlet(name, parameters) is None


def test_unknown_cmdlet_is_named() -> None:
    error = refused("New-DistributionGroups", {"Name": "x"})
    assert error.part == "New-DistributionGroups"
    assert "not a cmdlet listed in exo-cmdlets.md" in str(error)
    assert "did you mean 'New-DistributionGroup'" in str(error)


def test_cmdlet_not_listed_is_refused_even_if_real() -> None:
    # Set-User exists in Exchange Online, but mailflip's list does not have it
    assert refused("Set-User", {"Identity": "ann"}).part == "Set-User"


def test_unknown_parameter_is_named() -> None:
    error = refused("New-Mailbox", {"Name": "Info", "Shard": True})
    assert error.part == "Shard"
    assert "not a parameter of New-Mailbox in Exchange Online" in str(error)
    assert "did you mean 'Shared'" in str(error)


def test_on_premises_only_parameter_is_refused() -> None:
    # -Database is an Exchange Server parameter of New-Mailbox, not an Exchange Online one
    assert refused("New-Mailbox", {"Name": "Info", "Database": "DB1"}).part == "Database"


def test_names_are_case_insensitive_with_or_without_dash() -> None:
    assert check_cmdlet("add-mailboxpermission",
                        {"-identity": "ann", "-USER": SP, "accessRights": ["FullAccess"]}) is None


def test_parameter_prefix_is_not_expanded() -> None:
    assert refused("Get-Mailbox", {"Ident": "ann"}).part == "Ident"


def test_parameter_given_twice_is_refused() -> None:
    error = refused("Set-Mailbox", {"Identity": "a", "-identity": "b"})
    assert error.part == "-identity" and "given twice" in str(error)


def test_switch_parameter_must_be_true() -> None:
    for value in (False, "true", 1, None):
        error = refused("New-Mailbox", {"Name": "Info", "Shared": value})
        assert error.part == "Shared"
        assert "-Shared is a switch: pass true" in str(error)


def test_boolean_parameter_refuses_a_string() -> None:
    error = refused("Add-MailboxPermission", {"Identity": "ann", "AutoMapping": "false"})
    assert error.part == "AutoMapping" and "Boolean" in str(error)


def test_int32_parameter_refuses_a_boolean() -> None:
    assert check_cmdlet("New-Mailbox", {"Name": "Room1", "Room": True,
                                        "ResourceCapacity": 8}) is None
    error = refused("New-Mailbox", {"Name": "Room1", "ResourceCapacity": True})
    assert error.part == "ResourceCapacity" and "Int32" in str(error)


def test_common_parameters_are_refused_with_the_reason() -> None:
    error = refused("Remove-ServicePrincipal", {"Identity": SP, "Confirm": False})
    assert error.part == "Confirm"
    assert "PowerShell common parameter" in str(error)


def test_cmdlet_without_parameters_takes_none() -> None:
    error = refused("Get-OrganizationConfig", {"Identity": "contoso"})
    assert error.part == "Identity" and "Get-OrganizationConfig" in str(error)


def test_invoke_command_body_is_checked() -> None:
    body = {"CmdletInput": {"CmdletName": "New-DistributionGroup",
                            "Parameters": {"Name": "Sales", "Type": "Distribution"}}}
    assert check_invoke_command(body) is None
    assert check_invoke_command({"CmdletInput": {"CmdletName": "Get-AcceptedDomain"}}) is None


def test_invoke_command_refuses_a_wrong_shape() -> None:
    cases = [
        ({"cmdletInput": {"CmdletName": "Get-Mailbox"}}, "cmdletInput"),
        ([], "body"),
        ({"CmdletInput": "Get-Mailbox"}, "CmdletInput"),
        ({"CmdletInput": {"Cmdlet": "Get-Mailbox"}}, "CmdletInput.Cmdlet"),
        ({"CmdletInput": {"Parameters": {}}}, "CmdletInput.CmdletName"),
        ({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": ["-Identity"]}},
         "CmdletInput.Parameters"),
    ]
    for body, part in cases:
        with pytest.raises(CmdletNonConformant) as caught:
            check_invoke_command(body)
        assert caught.value.part == part, body


def test_invoke_command_refuses_the_cmdlets_unknown_parameter() -> None:
    body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {"Idenity": "ann"}}}
    with pytest.raises(CmdletNonConformant) as caught:
        check_invoke_command(body)
    assert caught.value.part == "Idenity"
    assert str(caught.value).startswith("Get-Mailbox: ")


def test_cmdlet_table_is_read_from_the_published_list() -> None:
    table = cmdlet_table()
    assert len(table) == 46
    assert table["new-mailbox"].parameters["shared"] == ("Shared", "SwitchParameter")
    assert table["get-organizationconfig"].parameters == {}
    assert cmdlet_table() is table  # parsed once per process


def test_missing_spec_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConformanceSpecMissing) as caught:
        check_cmdlet("Get-Mailbox", {}, spec_dir=tmp_path)
    assert str(tmp_path / "exo-cmdlets.md") in str(caught.value)


def test_refusals_are_mailflip_errors_with_the_part() -> None:
    error = refused("Get-Mailbox", {"Foo": 1})
    assert isinstance(error, MailflipError)
    assert (error.call, error.part) == ("Get-Mailbox", "Foo")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.part) == (CmdletNonConformant, str(error), "Foo")
