"""Graph: /users (create, read, update, delete, assignLicense) and /subscribedSkus.

Emulated: a new user is 404 by id for the next few reads (replication), UPN and address
conflicts are `ObjectConflict`, assignLicense needs a visible usageLocation and a free
unit, and a licence with Exchange provisions a mailbox that Exchange finds only later.
"""

from __future__ import annotations

import re
from typing import Any

from mailflip.tenant.simulator import odata
from mailflip.tenant.simulator.exchange import Mailbox
from mailflip.tenant.simulator.graph_call import (
    READ_DIRECTORY,
    WRITE_DIRECTORY,
    GraphCall,
    RouteTable,
)
from mailflip.tenant.simulator.model import User, new_id
from mailflip.tenant.simulator.replies import GraphError, Reply, bad_request, conflict, not_found

routes = RouteTable()
READ = ("User.Read.All", "User.ReadWrite.All", *READ_DIRECTORY)
WRITE = ("User.ReadWrite.All", *WRITE_DIRECTORY)
LICENSE = ("LicenseAssignment.ReadWrite.All", *WRITE)
SKU_READ = ("Organization.Read.All", "Organization.ReadWrite.All",
            "LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All", *READ_DIRECTORY)
REQUIRED = ("accountEnabled", "displayName", "mailNickname", "userPrincipalName",
            "passwordProfile")
_UPN_LOCAL = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+$")
_FIELDS = {"accountEnabled": "account_enabled", "displayName": "display_name",
           "mailNickname": "mail_nickname"}


def user_json(call: GraphCall, user: User, mailboxes: dict[str, Mailbox] | None = None
              ) -> dict[str, Any]:
    """`mailboxes`: user id -> mailbox, when the caller indexed them for many users."""
    mailbox = (mailboxes.get(user.id) if mailboxes is not None
               else call.tenant.exchange.mailbox_of_user(user.id))
    return {"id": user.id, "userPrincipalName": user.user_principal_name,
            "displayName": user.display_name, "mailNickname": user.mail_nickname,
            "mail": mailbox.primary_smtp if mailbox else user.mail,
            "accountEnabled": user.account_enabled, "usageLocation": user.usage_location,
            "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s in user.licenses],
            "proxyAddresses": list(mailbox.email_addresses) if mailbox else [],
            "createdDateTime": odata.iso(user.created_at), **user.extra}


@routes.add("GET", "/subscribedSkus", SKU_READ)
async def list_skus(call: GraphCall) -> Reply:
    items = [{"id": f"{call.tenant.tenant_id}_{s.config.sku_id}", "skuId": s.config.sku_id,
              "skuPartNumber": s.config.part_number, "appliesTo": "User",
              "capabilityStatus": "Enabled", "consumedUnits": s.consumed,
              "prepaidUnits": {"enabled": s.config.enabled, "warning": 0, "suspended": 0,
                               "lockedOut": 0}, "servicePlans": []}
             for s in call.tenant.skus.values()]
    return odata.collection(call, items, "subscribedSkus")


@routes.add("GET", "/users", READ)
async def list_users(call: GraphCall) -> Reply:
    users = list(call.tenant.users.values())
    wanted = odata.eq_filter(call)
    if wanted is not None and wanted[0] == "userPrincipalName":  # the adapter's lookup
        users = [u for u in users if u.user_principal_name.lower() == wanted[1]]
    mailboxes = {m.user_id: m for m in call.tenant.exchange.mailboxes.values() if m.user_id}
    items = [user_json(call, u, mailboxes) for u in users]
    return odata.collection(call, items, "users")


@routes.add("POST", "/users", WRITE)
async def create_user(call: GraphCall) -> Reply:
    body = call.json_object()
    for name in REQUIRED:
        if body.get(name) in (None, ""):
            raise bad_request(f"A value is required for property '{name}' of resource 'User'.")
    if "proxyAddresses" in body:
        raise _proxy_addresses_read_only()
    upn = str(body["userPrincipalName"])
    _check_upn(call, upn, None)
    extra = {k: v for k, v in body.items()
             if k not in (*REQUIRED, "usageLocation", "mail", "passwordProfile")}
    user = User(new_id(), upn, str(body["displayName"]), str(body["mailNickname"]),
                bool(body["accountEnabled"]), call.now, mail=body.get("mail"),
                usage_location=body.get("usageLocation"),
                hidden_reads=call.knobs.new_user_hidden_reads, extra=extra)
    call.tenant.users[user.id] = user
    return odata.entity(call, user_json(call, user), "users/$entity", status=201)


@routes.add("GET", "/users/{id}", READ)
async def get_user(call: GraphCall) -> Reply:
    return odata.entity(call, user_json(call, _user(call)), "users/$entity")


@routes.add("PATCH", "/users/{id}", WRITE)
async def update_user(call: GraphCall) -> Reply:
    user = _user(call)
    changes = call.json_object()
    if "proxyAddresses" in changes:
        raise _proxy_addresses_read_only()
    if "userPrincipalName" in changes:
        _check_upn(call, str(changes["userPrincipalName"]), user)
        user.user_principal_name = str(changes["userPrincipalName"])
    if "mail" in changes:
        _set_mail(call, user, str(changes["mail"]))
    if "usageLocation" in changes:
        user.usage_location = changes["usageLocation"]
        # replication: assignLicense right after this PATCH may not see it yet (§4)
        user.usage_location_visible_at = call.now + call.knobs.usage_location_delay_s
    for key, value in changes.items():
        if key in _FIELDS:
            setattr(user, _FIELDS[key], value)
        elif key not in ("userPrincipalName", "mail", "usageLocation", "passwordProfile"):
            user.extra[key] = value
    return Reply(204)


@routes.add("DELETE", "/users/{id}", WRITE)
async def delete_user(call: GraphCall) -> Reply:
    user = _user(call)
    for sku_id in user.licenses:
        call.tenant.skus[sku_id].consumed -= 1
    mailbox = call.tenant.exchange.mailbox_of_user(user.id)
    if mailbox is not None:
        del call.tenant.exchange.mailboxes[mailbox.guid]
    del call.tenant.users[user.id]
    return Reply(204)


@routes.add("POST", "/users/{id}/assignLicense", LICENSE)
async def assign_license(call: GraphCall) -> Reply:
    user = _user(call)
    body = call.json_object()
    adding = [str(item.get("skuId", "")) for item in body.get("addLicenses") or []]
    removing = [str(s) for s in body.get("removeLicenses") or []]
    if adding and (not user.usage_location or user.usage_location_visible_at > call.now):
        raise bad_request("License assignment cannot be done for user with invalid usage "
                          "location.")
    for sku_id in [*adding, *removing]:
        if sku_id not in call.tenant.skus:
            raise bad_request(f"License {sku_id} does not correspond to a valid company "
                              "License.")
    for sku_id in adding:
        sku = call.tenant.skus[sku_id]
        if sku_id not in user.licenses and sku.consumed >= sku.config.enabled:
            # the CountViolation of M365.md §4, as assignLicense words it
            raise bad_request(f"Subscription with SKU {sku_id} does not have any available "
                              "licenses.")
    for sku_id in removing:
        if sku_id in user.licenses:
            user.licenses.remove(sku_id)
            call.tenant.skus[sku_id].consumed -= 1
    for sku_id in adding:
        if sku_id not in user.licenses:
            user.licenses.append(sku_id)
            call.tenant.skus[sku_id].consumed += 1
            if call.tenant.skus[sku_id].config.has_exchange:
                _provision_mailbox(call, user)
    return odata.entity(call, user_json(call, user), "users/$entity")


def _provision_mailbox(call: GraphCall, user: User) -> None:
    exchange = call.tenant.exchange
    if exchange.mailbox_of_user(user.id) is not None:
        return
    primary = user.mail or user.user_principal_name
    routing = f"{user.mail_nickname}@{call.tenant.initial_domain}"
    addresses = [f"SMTP:{primary}"]
    if routing.lower() != primary.lower():
        addresses.append(f"smtp:{routing}")
    mailbox = Mailbox(user.mail_nickname, user.mail_nickname, user.display_name, addresses,
                      user_id=user.id, ready_at=call.now + call.knobs.mailbox_delay_s)
    exchange.mailboxes[mailbox.guid] = mailbox


def _set_mail(call: GraphCall, user: User, address: str) -> None:
    exchange = call.tenant.exchange
    mailbox = exchange.mailbox_of_user(user.id)
    owner = exchange.address_owner(address)
    if owner is not None and (mailbox is None or owner != mailbox.guid):
        raise conflict("proxyAddresses")
    user.mail = address
    if mailbox is not None:
        mailbox.set_primary(address)


def _check_upn(call: GraphCall, upn: str, current: User | None) -> None:
    local, _, domain = upn.partition("@")
    if not local or not _UPN_LOCAL.match(local):
        raise bad_request("Invalid value specified for property 'userPrincipalName' of "
                          "resource 'User'.")
    known = call.tenant.domains.get(domain.lower())
    if known is None or not known.is_verified:
        raise bad_request("The domain portion of the userPrincipalName property is invalid. "
                          "You must use one of the verified domain names in your "
                          "organization.")
    other = call.tenant.user(upn)
    if other is not None and other is not current:
        raise conflict("userPrincipalName")
    owner = call.tenant.exchange.address_owner(upn)
    mine = call.tenant.exchange.mailbox_of_user(current.id) if current else None
    if owner is not None and (mine is None or owner != mine.guid):
        raise conflict("proxyAddresses")


def _user(call: GraphCall) -> User:
    user = call.tenant.user(call.params["id"])
    if user is None:
        raise not_found(call.params["id"])
    if user.hidden_reads > 0:  # not replicated to the replica that serves this read yet
        user.hidden_reads -= 1
        raise not_found(call.params["id"])
    return user


def _proxy_addresses_read_only() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to "
                      "complete the operation. proxyAddresses is read-only in Microsoft "
                      "Graph: change addresses in Exchange Online (Set-Mailbox "
                      "-EmailAddresses).")
