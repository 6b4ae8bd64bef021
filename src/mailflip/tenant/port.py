"""The Tenant port: the customer's Microsoft 365 as the lifecycle sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class TenantRef:
    order_id: str
    initial_domain: str
    credentials_version: int = 0


@dataclass
class SetupResult:
    verified_domains: list[str]
    licenses_available: dict[str, int]


@dataclass
class MailboxToCreate:
    address: str  # final (vanity) address
    name: str
    kind: str = "user"  # user | shared
    on_initial_domain: bool = False  # SSI before the vanity domain verifies


class Tenant(Protocol):
    async def setup(self, t: TenantRef, vanity_domains: list[str]) -> SetupResult:
        """Verify access (CredentialsInvalid), create MigrationApp with access to all
        mailboxes, add missing vanity domains; report verified domains and licences."""

    async def create_mailboxes(self, t: TenantRef, items: list[MailboxToCreate]
                               ) -> dict[str, str | None]:
        """Create each mailbox; address -> None (created or already there) or error text."""

    async def move_to_vanity(self, t: TenantRef, addresses: list[str]) -> None:
        """Flip mailboxes created on the initial domain to their vanity address."""

    async def domain_txt(self, t: TenantRef, domain: str) -> list[str]: ...

    async def verify_domain(self, t: TenantRef, domain: str) -> bool:
        """One verification attempt: True once the tenant has verified the domain. An
        adapter that knows when to ask again may raise a retryable error with
        `next_retry_delay` instead of answering False."""

    async def apply_step(self, t: TenantRef, step: str, payload: dict[str, Any]) -> None:
        """Rules & connectors, aliases, distribution groups, mail-flow mailbox,
        permissions, public folders: idempotent tenant configuration steps."""

    async def remove_service_identity(self, t: TenantRef) -> None: ...
