"""The tenant's Exchange Online side: recipients, permissions, RBAC for Applications and
configuration objects (transport rules, connectors) as the cmdlets see them.

A user mailbox exists from the moment a licence with Exchange is assigned but is found
only once `ready_at` has passed (licence -> mailbox provisioning delay).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


def _guid() -> str:
    return str(uuid.uuid4())


@dataclass
class Mailbox:
    name: str
    alias: str
    display_name: str
    email_addresses: list[str]  # "SMTP:primary@x" first, then "smtp:secondary@y"
    kind: str = "UserMailbox"  # RecipientTypeDetails: UserMailbox | SharedMailbox
    user_id: str | None = None  # ExternalDirectoryObjectId (the Entra user)
    ready_at: float = 0.0
    grant_send_on_behalf_to: list[str] = field(default_factory=list)
    guid: str = field(default_factory=_guid)

    @property
    def primary_smtp(self) -> str:
        return next(a[5:] for a in self.email_addresses if a.startswith("SMTP:"))

    def set_primary(self, address: str) -> None:
        """The old primary stays as a secondary address, as Exchange keeps it."""
        rest = [f"smtp:{a[5:]}" for a in self.email_addresses
                if a[5:].lower() != address.lower()]
        self.email_addresses = [f"SMTP:{address}", *rest]

    def addresses(self) -> list[str]:
        return [a[5:].lower() for a in self.email_addresses if a.lower().startswith("smtp:")]


@dataclass
class Group:
    name: str
    alias: str
    display_name: str
    primary_smtp: str
    group_type: str = "Distribution"
    members: list[str] = field(default_factory=list)  # members' guids
    guid: str = field(default_factory=_guid)


@dataclass
class Contact:
    name: str
    alias: str
    display_name: str
    external_email: str
    guid: str = field(default_factory=_guid)


@dataclass(frozen=True)
class Permission:
    identity: str  # the mailbox's guid
    trustee: str  # a recipient's or service principal's guid
    rights: str  # FullAccess | SendAs


@dataclass
class ExoServicePrincipal:
    app_id: str
    object_id: str
    display_name: str
    guid: str = field(default_factory=_guid)


@dataclass
class RoleAssignment:
    name: str
    role: str
    app: str  # the service principal's guid
    custom_resource_scope: str | None = None
    guid: str = field(default_factory=_guid)


@dataclass
class Stored:
    """A transport rule or connector: kept as given and listed back, never applied."""

    kind: str  # TransportRule | InboundConnector | OutboundConnector
    name: str
    parameters: dict[str, Any]
    guid: str = field(default_factory=_guid)


@dataclass
class Exchange:
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)  # guid -> mailbox
    groups: dict[str, Group] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    permissions: list[Permission] = field(default_factory=list)
    service_principals: dict[str, ExoServicePrincipal] = field(default_factory=dict)
    role_assignments: dict[str, RoleAssignment] = field(default_factory=dict)
    stored: dict[str, Stored] = field(default_factory=dict)

    def visible_mailboxes(self, now: float) -> list[Mailbox]:
        return [m for m in self.mailboxes.values() if m.ready_at <= now]

    def mailbox_of_user(self, user_id: str) -> Mailbox | None:
        return next((m for m in self.mailboxes.values() if m.user_id == user_id), None)

    def address_owner(self, address: str) -> str | None:
        """The guid of whatever recipient already uses this SMTP address."""
        wanted = address.lower()
        for mailbox in self.mailboxes.values():
            if wanted in mailbox.addresses():
                return mailbox.guid
        for group in self.groups.values():
            if group.primary_smtp.lower() == wanted:
                return group.guid
        for contact in self.contacts.values():
            if contact.external_email.lower() == wanted:
                return contact.guid
        return None
