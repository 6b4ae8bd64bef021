"""What an Exchange Online cmdlet handler gets, and the lookups every cmdlet shares:
parameters by case-insensitive name, `-Identity` resolution, recipients as JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mailflip.tenant.simulator.config import Knobs
from mailflip.tenant.simulator.exchange import Contact, ExoServicePrincipal, Group, Mailbox
from mailflip.tenant.simulator.model import SimulatedTenant
from mailflip.tenant.simulator.replies import ExoError, exo_invalid, exo_not_found

Recipient = Mailbox | Group | Contact


@dataclass
class CmdletCall:
    name: str
    parameters: dict[str, Any]  # lower-case name, no leading "-" -> JSON value
    tenant: SimulatedTenant
    now: float
    knobs: Knobs

    @classmethod
    def of(cls, name: str, given: Mapping[str, Any], tenant: SimulatedTenant, now: float,
           knobs: Knobs) -> CmdletCall:
        return cls(name, {k.removeprefix("-").lower(): v for k, v in given.items()},
                   tenant, now, knobs)

    def get(self, name: str, default: Any = None) -> Any:
        return self.parameters.get(name.lower(), default)

    def required(self, name: str) -> Any:
        value = self.get(name)
        if value in (None, "", []):
            raise ExoError(400, "System.Management.Automation.ParameterBindingException",
                           f"{self.name}: missing the mandatory parameter -{name}.")
        return value

    def has(self, name: str) -> bool:
        return name.lower() in self.parameters


Handler = Callable[[CmdletCall], list[dict[str, Any]]]


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def recipients(call: CmdletCall) -> list[Recipient]:
    exchange = call.tenant.exchange
    return [*exchange.visible_mailboxes(call.now), *exchange.groups.values(),
            *exchange.contacts.values()]


def find(call: CmdletCall, identity: Any, kinds: tuple[type, ...] = (Mailbox, Group, Contact)
         ) -> Recipient:
    """A recipient by guid, name, alias, SMTP address, UPN or directory object id; a user
    mailbox still being provisioned is not found, as in Exchange Online."""
    key = str(identity).lower()
    for recipient in recipients(call):
        if isinstance(recipient, kinds) and key in _names(call, recipient):
            return recipient
    raise exo_not_found(str(identity))


def find_mailbox(call: CmdletCall, identity: Any) -> Mailbox:
    found = find(call, identity, (Mailbox,))
    if not isinstance(found, Mailbox):  # find() honours kinds; this narrows the type
        raise exo_not_found(str(identity))
    return found


def find_group(call: CmdletCall, identity: Any) -> Group:
    found = find(call, identity, (Group,))
    if not isinstance(found, Group):
        raise exo_not_found(str(identity))
    return found


def find_principal(call: CmdletCall, identity: Any) -> Recipient | ExoServicePrincipal:
    """A permission's trustee: a recipient or a service principal registered in EXO."""
    key = str(identity).lower()
    for sp in call.tenant.exchange.service_principals.values():
        if key in (sp.app_id.lower(), sp.object_id.lower(), sp.guid, sp.display_name.lower()):
            return sp
    return find(call, identity)


def _names(call: CmdletCall, recipient: Recipient) -> set[str]:
    names = {recipient.guid, recipient.name.lower(), recipient.alias.lower(),
             recipient.display_name.lower()}
    if isinstance(recipient, Mailbox):
        names.update(recipient.addresses())
        if recipient.user_id:
            names.add(recipient.user_id)
            user = call.tenant.users.get(recipient.user_id)
            if user is not None:
                names.add(user.user_principal_name.lower())
    elif isinstance(recipient, Group):
        names.add(recipient.primary_smtp.lower())
    else:
        names.add(recipient.external_email.lower())
    return names


def accepted(call: CmdletCall, address: str) -> str:
    """`address`, refused unless its domain is an accepted domain of the organization."""
    domain = address.rpartition("@")[2].lower()
    if "@" not in address or domain not in accepted_domains(call):
        raise exo_invalid(f"The domain '{domain}' of the address '{address}' is not an "
                          "accepted domain of this organization.")
    return address


def accepted_domains(call: CmdletCall) -> list[str]:
    """Verified domains with Email, once Exchange has caught up with Entra."""
    lag = call.knobs.accepted_domain_delay_s
    return [d.id for d in call.tenant.domains.values()
            if d.is_verified and "Email" in d.supported_services
            and d.email_enabled_at is not None
            and (d.is_initial or d.email_enabled_at + lag <= call.now)]


def unused(call: CmdletCall, address: str, owner: Recipient | None = None) -> str:
    holder = call.tenant.exchange.address_owner(address)
    if holder is not None and (owner is None or holder != owner.guid):
        raise ExoError(400, "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                       f"The proxy address \"SMTP:{address}\" is already being used by the "
                       "proxy addresses or LegacyExchangeDN of another recipient. Please "
                       "choose another proxy address.")
    return address


def recipient_json(call: CmdletCall, recipient: Recipient) -> dict[str, Any]:
    base = {"Identity": recipient.name, "Name": recipient.name, "Alias": recipient.alias,
            "DisplayName": recipient.display_name, "Guid": recipient.guid}
    if isinstance(recipient, Mailbox):
        user = call.tenant.users.get(recipient.user_id or "")
        return {**base, "PrimarySmtpAddress": recipient.primary_smtp,
                "WindowsEmailAddress": recipient.primary_smtp,
                "EmailAddresses": list(recipient.email_addresses),
                "RecipientTypeDetails": recipient.kind,
                "ExternalDirectoryObjectId": recipient.user_id,
                "UserPrincipalName": user.user_principal_name if user else
                recipient.primary_smtp,
                "GrantSendOnBehalfTo": list(recipient.grant_send_on_behalf_to)}
    if isinstance(recipient, Group):
        return {**base, "PrimarySmtpAddress": recipient.primary_smtp,
                "RecipientTypeDetails": "MailUniversalDistributionGroup"
                if recipient.group_type == "Distribution" else "MailUniversalSecurityGroup",
                "GroupType": recipient.group_type}
    return {**base, "PrimarySmtpAddress": recipient.external_email,
            "ExternalEmailAddress": f"SMTP:{recipient.external_email}",
            "RecipientTypeDetails": "MailContact"}
