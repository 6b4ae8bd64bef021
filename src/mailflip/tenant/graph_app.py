"""The service identity MigrationApp (M365.md §1 rows 2, 3, 21): app registration,
service principal, IMAP app role, RBAC for Applications in Exchange Online; and its
removal. Every create first looks for what an earlier attempt made (by displayName)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mailflip.errors import TenantApiError, TenantNotReady
from mailflip.tenant.exo import CmdletError, ExoRunner
from mailflip.tenant.http import GraphClient
from mailflip.tenant.port import TenantRef

APP_NAME = "MigrationApp"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"  # Office 365 Exchange Online
EXCHANGE_ROLES = ("IMAP.AccessAsApp",)
RBAC_ROLE = "Application Mail.ReadWrite"
APP_QUERY = f"/applications?$filter=displayName eq '{APP_NAME}'"
REPLICATION_WAIT_S = 30.0
SecretSink = Callable[[TenantRef, str, str], Awaitable[None]]  # (tenant, appId, secret)


async def _find_one(graph: GraphClient, t: TenantRef, path: str) -> dict[str, Any] | None:
    items = await graph.all(t, path)
    return items[0] if items else None


async def ensure_app(graph: GraphClient, exo: ExoRunner, t: TenantRef,
                     on_secret: SecretSink | None) -> None:
    app = await _find_one(graph, t, APP_QUERY)
    if app is None:
        app = await _create_app(graph, t)
        secret = await graph.ok(t, "POST", f"/applications/{app['id']}/addPassword",
                                {"passwordCredential": {"displayName": "mailflip"}})
        if on_secret is not None:
            await on_secret(t, app["appId"], secret["secretText"])
    sp_query = f"/servicePrincipals?$filter=appId eq '{app['appId']}'"
    sp = await _find_one(graph, t, sp_query)
    if sp is None:
        reply = await graph.call(t, "POST", "/servicePrincipals", {"appId": app["appId"]})
        if "ObjectConflict" in reply.detail_codes:  # created by a try whose reply was lost
            sp = await _find_one(graph, t, sp_query)
        else:
            reply.raise_for_error()
            sp = reply.body
    if sp is None:
        raise TenantNotReady("MigrationApp's service principal not listed yet",
                             REPLICATION_WAIT_S)
    await _grant_roles(graph, t, sp["id"])
    await _exo_access(exo, t, app["appId"], sp["id"])


async def _create_app(graph: GraphClient, t: TenantRef) -> dict[str, Any]:
    reply = await graph.call(t, "POST", "/applications",
                             {"displayName": APP_NAME, "signInAudience": "AzureADMyOrg"},
                             resend_on_timeout=False)
    if reply.status == 504:  # maybe committed: resending could make a second MigrationApp
        found = await _find_one(graph, t, APP_QUERY)
        if found is None:
            raise TenantNotReady("MigrationApp creation timed out; looking again later",
                                 REPLICATION_WAIT_S)
        return found
    reply.raise_for_error()
    return dict(reply.body)


async def _grant_roles(graph: GraphClient, t: TenantRef, principal_id: str) -> None:
    exchange = await _find_one(graph, t,
                               f"/servicePrincipals?$filter=appId eq '{EXCHANGE_APP_ID}'")
    if exchange is None:
        raise TenantApiError(404, "Request_ResourceNotFound", "Office 365 Exchange Online "
                             "has no service principal in this tenant")
    roles = {r["value"]: r["id"] for r in exchange.get("appRoles", [])}
    for name in EXCHANGE_ROLES:
        reply = await graph.call(t, "POST", f"/servicePrincipals/{exchange['id']}/"
                                 "appRoleAssignedTo",
                                 {"principalId": principal_id, "resourceId": exchange["id"],
                                  "appRoleId": roles[name]})
        if reply.status >= 400 and "already exists" not in reply.message:
            reply.raise_for_error()


async def _exo_access(exo: ExoRunner, t: TenantRef, app_id: str, object_id: str) -> None:
    try:
        await exo.run(t, "New-ServicePrincipal", {"AppId": app_id, "ObjectId": object_id,
                                                  "DisplayName": APP_NAME})
    except CmdletError as exc:
        if not exc.exists:
            raise
    try:  # org-wide scope: "access to all mailboxes" (a scope per order may come later)
        await exo.run(t, "New-ManagementRoleAssignment",
                      {"App": object_id, "Role": RBAC_ROLE, "Name": f"{APP_NAME}-Mail"})
    except CmdletError as exc:
        if not exc.exists:
            raise


async def grant_full_access(exo: ExoRunner, t: TenantRef, mailbox: str) -> None:
    """FullAccess for MigrationApp on one mailbox (IMAP needs it, §5)."""
    sp = await _exo_principal(exo, t)
    if sp is not None:
        await exo.run(t, "Add-MailboxPermission", {
            "Identity": mailbox, "User": sp["ObjectId"], "AccessRights": ["FullAccess"],
            "AutoMapping": False})


async def _exo_principal(exo: ExoRunner, t: TenantRef) -> dict[str, Any] | None:
    found = [p for p in await exo.run(t, "Get-ServicePrincipal", {})
             if p.get("DisplayName") == APP_NAME]
    return found[0] if found else None


async def remove_app(graph: GraphClient, exo: ExoRunner, t: TenantRef) -> None:
    """Role assignments, mailbox permissions, the EXO and Entra service principals, the
    application, then the application again from deleted items (no 30-day leftover)."""
    sp = await _exo_principal(exo, t)
    if sp is not None:
        for assignment in await exo.run(t, "Get-ManagementRoleAssignment",
                                        {"RoleAssignee": sp["ObjectId"]}):
            await exo.run(t, "Remove-ManagementRoleAssignment",
                          {"Identity": assignment["Name"]})
        for mailbox in await exo.run(t, "Get-Mailbox", {"ResultSize": "Unlimited"}):
            granted = await exo.run(t, "Get-MailboxPermission",
                                    {"Identity": mailbox["Guid"], "User": sp["ObjectId"]})
            if granted:
                await exo.run(t, "Remove-MailboxPermission", {
                    "Identity": mailbox["Guid"], "User": sp["ObjectId"],
                    "AccessRights": ["FullAccess"]})
        await exo.run(t, "Remove-ServicePrincipal", {"Identity": sp["ObjectId"]})
    for app in await graph.all(t, APP_QUERY):
        # deleting the application deletes its service principal and the principal's
        # app role assignments with it
        await graph.ok(t, "DELETE", f"/applications/{app['id']}")
        await graph.ok(t, "DELETE", f"/directory/deletedItems/{app['id']}")
