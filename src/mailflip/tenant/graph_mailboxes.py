"""Create Mailboxes (M365.md §1 rows 9-12, §4): users with usageLocation through `$batch`,
licences through `$batch`, shared mailboxes in Exchange Online, the UPN / primary
address flip. A create whose response was lost meets ObjectConflict on its retry: the
user is looked up by UPN and the work goes on with it."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from mailflip.errors import TenantNotReady
from mailflip.tenant.exo import CmdletError, ExoRunner
from mailflip.tenant.http import GraphClient, GraphReply
from mailflip.tenant.port import MailboxToCreate, TenantRef

REPLICATION_WAIT_S = 10.0  # a new user not yet readable (seconds, in Entra): ask again then
ACCEPTED_DOMAIN_WAIT_S = 30.0  # a verified domain not an accepted domain of Exchange yet
# More users than this to create: list the tenant's users once (999 a page) and create
# only the missing ones, instead of one create + conflict + lookup per existing user
LIST_FIRST_OVER = 20
LIST_USERS = "/users?$select=id,userPrincipalName,assignedLicenses&$top=999"
_NICK = re.compile(r"[^A-Za-z0-9'.\-_!#^~]")


@dataclass
class Sku:
    sku_id: str
    part_number: str
    free: int


def free_skus(skus: list[dict[str, Any]]) -> list[Sku]:
    """Usable units per SKU: enabled minus consumed, clamped (over-assignment happens)."""
    return [Sku(s["skuId"], s["skuPartNumber"],
                max(0, int(s["prepaidUnits"]["enabled"]) - int(s["consumedUnits"])))
            for s in skus
            if s.get("appliesTo") == "User" and s.get("capabilityStatus") == "Enabled"]


def upn_of(item: MailboxToCreate, initial_domain: str) -> str:
    local = item.address.partition("@")[0]
    return f"{local}@{initial_domain}" if item.on_initial_domain else item.address


def _quote(value: str) -> str:
    return value.replace("'", "''")


async def user_by_upn(graph: GraphClient, t: TenantRef, upn: str) -> dict[str, Any] | None:
    # the list answers from the directory as a whole, so a new user is found here even
    # while reads by id still miss it (replication)
    found = await graph.all(t, f"/users?$filter=userPrincipalName eq '{_quote(upn)}'")
    return found[0] if found else None


def _is_conflict(reply: GraphReply) -> bool:
    return reply.status == 400 and "ObjectConflict" in reply.detail_codes


async def create_users(graph: GraphClient, t: TenantRef, items: list[MailboxToCreate],
                       usage_location: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """address -> the user (created now or before); address -> error text."""
    users: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    if len(items) > LIST_FIRST_OVER:  # a retry would otherwise meet a conflict per user
        existing = {u["userPrincipalName"].lower(): u for u in await graph.all(t, LIST_USERS)}
        for item in items:
            found = existing.get(upn_of(item, t.initial_domain).lower())
            if found is not None:
                users[item.address] = found
        items = [i for i in items if i.address not in users]
    bodies = []
    for item in items:
        upn = upn_of(item, t.initial_domain)
        bodies.append(("POST", "/users", {
            "accountEnabled": True, "displayName": item.name or upn,
            "mailNickname": _NICK.sub("", upn.partition("@")[0]) or "user",
            "userPrincipalName": upn, "usageLocation": usage_location,
            "passwordProfile": {"password": _password(), "forceChangePasswordNextSignIn": True},
        }))
    for item, reply in zip(items, await graph.batch(t, bodies), strict=True):
        if reply.status == 201:
            users[item.address] = reply.body
        elif _is_conflict(reply):
            found = await user_by_upn(graph, t, upn_of(item, t.initial_domain))
            if found is None:  # the conflict is another object's address, not our user
                errors[item.address] = f"the address is taken by another object: {reply.message}"
            else:
                users[item.address] = found
        else:
            errors[item.address] = f"user creation failed ({reply.status} " \
                                   f"{reply.error_code}): {reply.message}"
    return users, errors


async def assign_licences(graph: GraphClient, t: TenantRef, users: dict[str, dict[str, Any]],
                          skus: list[Sku]) -> dict[str, str]:
    """A licence for every user without one, from the SKUs with free units; address ->
    error text for those that get none."""
    errors: dict[str, str] = {}
    todo: list[tuple[str, str]] = []  # (address, skuId)
    for address, user in users.items():
        if user.get("assignedLicenses"):
            continue
        sku = next((s for s in skus if s.free > 0), None)
        if sku is None:
            names = ", ".join(f"{s.part_number} ({s.free} free)" for s in skus) or "none"
            errors[address] = f"no licence available for this mailbox: SKUs {names}"
            continue
        sku.free -= 1
        todo.append((address, sku.sku_id))
    requests = [("POST", f"/users/{users[a]['id']}/assignLicense",
                 {"addLicenses": [{"skuId": s, "disabledPlans": []}], "removeLicenses": []})
                for a, s in todo]
    replies = await graph.batch(t, requests) if requests else []
    unreplicated = []
    for (address, _), reply in zip(todo, replies, strict=True):
        if reply.status == 404 or "usage location" in reply.message:
            unreplicated.append(address)  # the new user (or its location) not visible yet
        elif reply.status >= 400:
            errors[address] = f"licence assignment failed ({reply.error_code}): {reply.message}"
    if unreplicated:
        raise TenantNotReady(f"{len(unreplicated)} new users not replicated yet for "
                             f"licensing (e.g. {unreplicated[0]})", REPLICATION_WAIT_S)
    return errors


async def create_shared(exo: ExoRunner, t: TenantRef, item: MailboxToCreate) -> str | None:
    try:
        await exo.run(t, "New-Mailbox", {"Shared": True, "Name": item.name or item.address,
                                         "PrimarySmtpAddress": item.address})
    except CmdletError as exc:
        if exc.domain_not_accepted:  # its domain verified moments ago: Exchange catches up
            raise TenantNotReady(f"{item.address}: {exc.message}", ACCEPTED_DOMAIN_WAIT_S
                                 ) from exc
        if not exc.exists:
            return exc.message
        mine = await _mailbox(exo, t, item.address)
        if mine is None:  # the name or address belongs to another recipient
            return exc.message
    return None


async def _mailbox(exo: ExoRunner, t: TenantRef, address: str) -> dict[str, Any] | None:
    try:
        found = await exo.run(t, "Get-Mailbox", {"Identity": address})
    except CmdletError as exc:
        if exc.not_found:
            return None
        raise
    return found[0] if found else None


async def move_to_vanity(graph: GraphClient, t: TenantRef, address: str) -> None:
    """UPN and primary SMTP from <local>@<initial> to `address`; the initial-domain
    address stays as a secondary (routing). Already moved: nothing to do."""
    local = address.partition("@")[0]
    user = await user_by_upn(graph, t, f"{local}@{t.initial_domain}")
    if user is None:
        if await user_by_upn(graph, t, address) is not None:
            return
        raise TenantNotReady(f"{address}: no user {local}@{t.initial_domain} to move yet",
                             REPLICATION_WAIT_S)
    reply = await graph.call(t, "PATCH", f"/users/{user['id']}",
                             {"userPrincipalName": address, "mail": address})
    if reply.status == 404:
        raise TenantNotReady(f"{address}: user not replicated yet", REPLICATION_WAIT_S)
    reply.raise_for_error()


def _password() -> str:
    # never used to sign in (the user sets theirs); complex enough for Entra's policy
    return "Mf!" + secrets.token_urlsafe(18) + "9a"
