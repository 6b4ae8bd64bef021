"""The lifecycle's tenant configuration steps (`apply_step`) as Exchange Online cmdlets
(M365.md §1 rows 13-19: Graph cannot write these). Each step is idempotent: "already
exists" means an earlier attempt did it. A step this adapter cannot do raises
TenantStepUnsupported naming it, so it shows as unfinished instead of passing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mailflip.errors import TenantNotReady, TenantStepUnsupported
from mailflip.tenant.exo import CmdletError, ExoRunner
from mailflip.tenant.port import TenantRef

MEMBER_WAIT_S = 60.0  # a member's mailbox still provisioning: ask again in about this long
Step = Callable[[ExoRunner, TenantRef, dict[str, Any]], Awaitable[None]]


async def _create(exo: ExoRunner, t: TenantRef, cmdlet: str, parameters: dict[str, Any]
                  ) -> None:
    try:
        await exo.run(t, cmdlet, parameters)
    except CmdletError as exc:
        if not exc.exists:
            raise


def _name(address: str) -> str:
    return address.partition("@")[0]


async def shared_mailboxes(exo: ExoRunner, t: TenantRef, payload: dict[str, Any]) -> None:
    for address in payload.get("shared", []):
        await _ensure_shared(exo, t, str(address))


async def _ensure_shared(exo: ExoRunner, t: TenantRef, address: str) -> None:
    try:
        await exo.run(t, "Get-Mailbox", {"Identity": address})
        return
    except CmdletError as exc:
        if not exc.not_found:
            raise
    await _create(exo, t, "New-Mailbox", {"Shared": True, "Name": _name(address),
                                          "PrimarySmtpAddress": address})


async def mail_flow_mailbox(exo: ExoRunner, t: TenantRef, payload: dict[str, Any]) -> None:
    await _ensure_shared(exo, t, str(payload["address"]))


async def distribution_groups(exo: ExoRunner, t: TenantRef, payload: dict[str, Any]) -> None:
    for address, members in payload.get("groups", []):
        await _create(exo, t, "New-DistributionGroup", {
            "Name": _name(address), "PrimarySmtpAddress": address, "Type": "Distribution"})
        for member in members:
            try:
                await exo.run(t, "Add-DistributionGroupMember",
                              {"Identity": address, "Member": member})
            except CmdletError as exc:
                if exc.not_found:  # the member's mailbox is not there yet (§9.3)
                    raise TenantNotReady(f"{address}: member {member} not found yet",
                                         MEMBER_WAIT_S) from exc
                if not exc.exists:
                    raise


async def contacts(exo: ExoRunner, t: TenantRef, payload: dict[str, Any]) -> None:
    for address in payload.get("contacts", []):
        await _create(exo, t, "New-MailContact", {"Name": str(address),
                                                  "ExternalEmailAddress": str(address)})


async def folders_and_permissions(exo: ExoRunner, t: TenantRef, payload: dict[str, Any]
                                  ) -> None:
    if payload.get("public_folders"):
        # content import has no supported API (M365.md §8): decided later, not faked
        raise TenantStepUnsupported("folders_and_permissions: public folders are not "
                                    "implemented by the Graph tenant adapter")
    for mailbox, grantee, right in payload.get("permissions", []):
        if right == "FullAccess":
            await exo.run(t, "Add-MailboxPermission", {
                "Identity": mailbox, "User": grantee, "AccessRights": ["FullAccess"],
                "AutoMapping": False})
        elif right == "SendAs":
            await exo.run(t, "Add-RecipientPermission", {
                "Identity": mailbox, "Trustee": grantee, "AccessRights": ["SendAs"]})
        else:
            raise TenantStepUnsupported(f"folders_and_permissions: the right {right!r}")


_RULE_KINDS = {"transport_rules": "New-TransportRule",
               "inbound_connectors": "New-InboundConnector",
               "outbound_connectors": "New-OutboundConnector"}


async def rules_and_connectors(exo: ExoRunner, t: TenantRef, payload: dict[str, Any]) -> None:
    """Each listed rule / connector as its cmdlet's parameters (Name required)."""
    unknown = set(payload) - set(_RULE_KINDS)
    if unknown:
        raise TenantStepUnsupported(f"rules_and_connectors: {sorted(unknown)}")
    for kind, cmdlet in _RULE_KINDS.items():
        for parameters in payload.get(kind, []):
            await _create(exo, t, cmdlet, dict(parameters))


STEPS: dict[str, Step] = {
    "shared_mailbox_aliases": shared_mailboxes,
    "mail_flow_mailbox": mail_flow_mailbox,
    "distribution_groups": distribution_groups,
    "contact_aliases": contacts,
    "folders_and_permissions": folders_and_permissions,
    "rules_and_connectors": rules_and_connectors,
}


async def apply_step(exo: ExoRunner, t: TenantRef, step: str, payload: dict[str, Any]
                     ) -> None:
    run = STEPS.get(step)
    if run is None:
        raise TenantStepUnsupported(f"the tenant step {step!r} is not implemented by the "
                                    "Graph tenant adapter")
    await run(exo, t, payload)
