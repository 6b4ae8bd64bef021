"""Exchange Online recipient cmdlets: mailboxes (user and shared), addresses, FullAccess /
SendAs / SendOnBehalf, distribution groups and members, mail contacts."""

from __future__ import annotations

import re
from typing import Any

from mailflip.tenant.simulator.exchange import Contact, Group, Mailbox, Permission
from mailflip.tenant.simulator.exo_call import (
    CmdletCall,
    Handler,
    accepted,
    as_list,
    find,
    find_group,
    find_mailbox,
    find_principal,
    recipient_json,
    recipients,
    unused,
)
from mailflip.tenant.simulator.replies import ExoError, exo_invalid, exo_not_emulated

Json = list[dict[str, Any]]


def get_mailbox(call: CmdletCall) -> Json:
    if call.has("Identity"):
        return [recipient_json(call, find(call, call.get("Identity"), (Mailbox,)))]
    kinds = {k.lower() for k in as_list(call.get("RecipientTypeDetails"))}
    return [recipient_json(call, m) for m in call.tenant.exchange.visible_mailboxes(call.now)
            if not kinds or m.kind.lower() in kinds]


def get_recipient(call: CmdletCall) -> Json:
    if call.has("Identity"):
        return [recipient_json(call, find(call, call.get("Identity")))]
    return [recipient_json(call, r) for r in recipients(call)]


def new_mailbox(call: CmdletCall) -> Json:
    if call.get("Shared") is not True:
        raise exo_not_emulated("New-Mailbox without -Shared (user mailboxes come from "
                               "licensing a Graph user)")
    name = str(call.required("Name"))
    alias = str(call.get("Alias") or _alias(name))
    primary = str(call.get("PrimarySmtpAddress") or f"{alias}@{call.tenant.initial_domain}")
    unused(call, accepted(call, primary))
    if any(r.name.lower() == name.lower() for r in recipients(call)):
        raise _exists(name)
    mailbox = Mailbox(name, alias, str(call.get("DisplayName") or name), [f"SMTP:{primary}"],
                      kind="SharedMailbox", ready_at=call.now)
    call.tenant.exchange.mailboxes[mailbox.guid] = mailbox
    return [recipient_json(call, mailbox)]


def set_mailbox(call: CmdletCall) -> Json:
    mailbox = find_mailbox(call, call.required("Identity"))
    if call.has("EmailAddresses"):
        _set_addresses(call, mailbox, call.get("EmailAddresses"))
    if call.has("WindowsEmailAddress"):
        address = unused(call, accepted(call, str(call.get("WindowsEmailAddress"))), mailbox)
        mailbox.set_primary(address)
    if call.has("GrantSendOnBehalfTo"):
        mailbox.grant_send_on_behalf_to = _edit(
            mailbox.grant_send_on_behalf_to, call.get("GrantSendOnBehalfTo"),
            lambda who: find(call, who).name)
    if call.has("DisplayName"):
        mailbox.display_name = str(call.get("DisplayName"))
    return []


def remove_mailbox(call: CmdletCall) -> Json:
    mailbox = find_mailbox(call, call.required("Identity"))
    if mailbox.kind != "SharedMailbox":
        raise exo_not_emulated("Remove-Mailbox of a user mailbox (delete the Graph user)")
    exchange = call.tenant.exchange
    del exchange.mailboxes[mailbox.guid]
    exchange.permissions = [p for p in exchange.permissions if p.identity != mailbox.guid]
    return []


def _set_addresses(call: CmdletCall, mailbox: Mailbox, value: Any) -> None:
    """A list replaces all addresses; {"Add": [...], "Remove": [...]} edits them. An
    upper-case `SMTP:` marks the primary address, as in Exchange."""
    if isinstance(value, dict):
        edits = {k.lower(): as_list(v) for k, v in value.items()}
        for address in edits.get("remove", []):
            bare = address.split(":", 1)[-1].lower()
            if bare == mailbox.primary_smtp.lower():
                raise exo_invalid("The primary SMTP address cannot be removed.")
            mailbox.email_addresses = [a for a in mailbox.email_addresses
                                       if a.split(":", 1)[-1].lower() != bare]
        for address in edits.get("add", []):
            bare = unused(call, accepted(call, address.split(":", 1)[-1]), mailbox)
            if address.startswith("SMTP:"):
                mailbox.set_primary(bare)
            elif bare.lower() not in mailbox.addresses():
                mailbox.email_addresses.append(f"smtp:{bare}")
        return
    given = as_list(value)
    primaries = [a for a in given if a.startswith("SMTP:")]
    if len(primaries) != 1:
        raise exo_invalid("EmailAddresses needs exactly one primary address (SMTP:...).")
    for address in given:
        unused(call, accepted(call, address.split(":", 1)[-1]), mailbox)
    mailbox.email_addresses = [primaries[0], *(f"smtp:{a.split(':', 1)[-1]}" for a in given
                                               if a not in primaries)]


def _edit(current: list[str], value: Any, name_of: Any) -> list[str]:
    if not isinstance(value, dict):
        return [name_of(v) for v in as_list(value)]
    edits = {k.lower(): as_list(v) for k, v in value.items()}
    removed = {name_of(v) for v in edits.get("remove", [])}
    kept = [c for c in current if c not in removed]
    return kept + [n for n in (name_of(v) for v in edits.get("add", [])) if n not in kept]


def add_permission(call: CmdletCall, rights: str, trustee_param: str) -> Json:
    mailbox = find(call, call.required("Identity"))
    trustee = find_principal(call, call.required(trustee_param))
    asked = as_list(call.required("AccessRights"))
    if asked != [rights]:
        raise exo_not_emulated(f"{call.name} -AccessRights {asked} (only {rights} is)")
    grant = Permission(mailbox.guid, trustee.guid, rights)
    if grant not in call.tenant.exchange.permissions:  # Exchange warns and changes nothing
        call.tenant.exchange.permissions.append(grant)
    return [_permission_json(mailbox.name, trustee.display_name, rights)]


def remove_permission(call: CmdletCall, rights: str, trustee_param: str) -> Json:
    mailbox = find(call, call.required("Identity"))
    trustee = find_principal(call, call.required(trustee_param))
    grant = Permission(mailbox.guid, trustee.guid, rights)
    if grant not in call.tenant.exchange.permissions:
        raise exo_invalid(f"Can't remove the access control entry on the object "
                          f"'{mailbox.name}' for account '{trustee.display_name}' because the "
                          "ACE doesn't exist on the object.")
    call.tenant.exchange.permissions.remove(grant)
    return []


def get_permissions(call: CmdletCall, rights: str) -> Json:
    mailbox = find(call, call.required("Identity"))
    names = {p.guid: p.display_name for p in [*recipients(call),
                                               *call.tenant.exchange.service_principals.values()]}
    return [_permission_json(mailbox.name, names.get(p.trustee, p.trustee), p.rights)
            for p in call.tenant.exchange.permissions
            if p.identity == mailbox.guid and p.rights == rights]


def _permission_json(identity: str, trustee: str, rights: str) -> dict[str, Any]:
    return {"Identity": identity, "User": trustee, "Trustee": trustee,
            "AccessRights": [rights], "IsInherited": False, "Deny": False}


def new_distribution_group(call: CmdletCall) -> Json:
    name = str(call.required("Name"))
    alias = str(call.get("Alias") or _alias(name))
    primary = str(call.get("PrimarySmtpAddress") or f"{alias}@{call.tenant.initial_domain}")
    unused(call, accepted(call, primary))
    if any(r.name.lower() == name.lower() for r in recipients(call)):
        raise _exists(name)
    members = [find(call, m).guid for m in as_list(call.get("Members"))]
    group = Group(name, alias, str(call.get("DisplayName") or name), primary,
                  str(call.get("Type") or "Distribution"), members)
    call.tenant.exchange.groups[group.guid] = group
    return [recipient_json(call, group)]


def get_distribution_group(call: CmdletCall) -> Json:
    if call.has("Identity"):
        return [recipient_json(call, find(call, call.get("Identity"), (Group,)))]
    return [recipient_json(call, g) for g in call.tenant.exchange.groups.values()]


def add_group_member(call: CmdletCall) -> Json:
    group = find_group(call, call.required("Identity"))
    member = find(call, call.required("Member"))  # a mailbox not provisioned yet: NotFound
    if member.guid in group.members:
        raise ExoError(400, "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException",
                       f"The recipient \"{member.name}\" is already a member of the group "
                       f"\"{group.name}\".")
    group.members.append(member.guid)
    return []


def get_group_members(call: CmdletCall) -> Json:
    group = find_group(call, call.required("Identity"))
    every = {r.guid: r for r in recipients(call)}
    return [recipient_json(call, every[g]) for g in group.members if g in every]


def new_mail_contact(call: CmdletCall) -> Json:
    name = str(call.required("Name"))
    external = str(call.required("ExternalEmailAddress")).split(":", 1)[-1]
    unused(call, external)
    contact = Contact(name, str(call.get("Alias") or _alias(name)),
                      str(call.get("DisplayName") or name), external)
    call.tenant.exchange.contacts[contact.guid] = contact
    return [recipient_json(call, contact)]


def get_mail_contact(call: CmdletCall) -> Json:
    if call.has("Identity"):
        return [recipient_json(call, find(call, call.get("Identity"), (Contact,)))]
    return [recipient_json(call, c) for c in call.tenant.exchange.contacts.values()]


def _alias(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "", name) or "recipient"


def _exists(name: str) -> ExoError:
    return ExoError(400, "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                    f"The name \"{name}\" is already being used. Please try another name.")


CMDLETS: dict[str, tuple[Handler, frozenset[str]]] = {
    "get-mailbox": (get_mailbox, frozenset({"identity", "recipienttypedetails", "resultsize"})),
    "get-recipient": (get_recipient, frozenset({"identity", "resultsize"})),
    "new-mailbox": (new_mailbox, frozenset({"shared", "name", "alias", "displayname",
                                            "primarysmtpaddress"})),
    "set-mailbox": (set_mailbox, frozenset({"identity", "emailaddresses", "windowsemailaddress",
                                            "grantsendonbehalfto", "displayname"})),
    "remove-mailbox": (remove_mailbox, frozenset({"identity"})),
    "add-mailboxpermission": (lambda c: add_permission(c, "FullAccess", "User"),
                              frozenset({"identity", "user", "accessrights", "automapping",
                                         "inheritancetype"})),
    "remove-mailboxpermission": (lambda c: remove_permission(c, "FullAccess", "User"),
                                 frozenset({"identity", "user", "accessrights",
                                            "inheritancetype"})),
    "get-mailboxpermission": (lambda c: get_permissions(c, "FullAccess"),
                              frozenset({"identity", "user", "resultsize"})),
    "add-recipientpermission": (lambda c: add_permission(c, "SendAs", "Trustee"),
                                frozenset({"identity", "trustee", "accessrights"})),
    "remove-recipientpermission": (lambda c: remove_permission(c, "SendAs", "Trustee"),
                                   frozenset({"identity", "trustee", "accessrights"})),
    "get-recipientpermission": (lambda c: get_permissions(c, "SendAs"),
                                frozenset({"identity", "trustee", "resultsize"})),
    "new-distributiongroup": (new_distribution_group,
                              frozenset({"name", "alias", "displayname", "primarysmtpaddress",
                                         "type", "members"})),
    "get-distributiongroup": (get_distribution_group, frozenset({"identity", "resultsize"})),
    "add-distributiongroupmember": (add_group_member,
                                    frozenset({"identity", "member",
                                               "bypasssecuritygroupmanagercheck"})),
    "get-distributiongroupmember": (get_group_members, frozenset({"identity", "resultsize"})),
    "new-mailcontact": (new_mail_contact, frozenset({"name", "externalemailaddress", "alias",
                                                     "displayname", "firstname", "lastname"})),
    "get-mailcontact": (get_mail_contact, frozenset({"identity", "resultsize"})),
}
