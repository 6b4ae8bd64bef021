"""The ports the lifecycle's activities talk to. Real adapters and the simulated
world implement the same Protocols; the worker (composition root) picks them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mailflip.domain.model import OrderState
from mailflip.domain.timeline import TimelineEvent


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


@dataclass
class DomainCheck:
    verified: bool
    # "no use asking before": lets a simulated world skip polls it knows are futile
    not_before: datetime | None = None


@dataclass
class PassResult:
    messages: int = 0
    bytes: int = 0
    folders: int = 0
    errors: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


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

    async def verify_domain(self, t: TenantRef, domain: str) -> DomainCheck: ...

    async def apply_step(self, t: TenantRef, step: str, payload: dict[str, Any]) -> None:
        """Rules & connectors, aliases, distribution groups, mail-flow mailbox,
        permissions, public folders: idempotent tenant configuration steps."""

    async def remove_service_identity(self, t: TenantRef) -> None: ...


class Dns(Protocol):
    async def mx_hosts(self, domain: str) -> list[str]: ...


class Agents(Protocol):
    async def readiness(self, order_id: str, addresses: list[str]) -> dict[str, str]:
        """address -> ready | not_ready | missing"""

    async def flip(self, order_id: str, addresses: list[str]) -> None: ...

    async def stop(self, order_id: str) -> None: ...


class Notifier(Protocol):
    async def send(self, order_id: str, key: str, template: str, to: str,
                   context: dict[str, Any]) -> bool:
        """Send once per key (outbox); False when the key was already sent."""


class MailMover(Protocol):
    async def run_pass(self, order_id: str, mailbox: str, source: str, pass_name: str,
                       progress: Callable[[dict[str, Any]], None]) -> PassResult: ...


class Mirror(Protocol):
    async def record(self, state: OrderState, events: list[TimelineEvent]) -> None: ...

    async def append_events(self, order_id: str, events: list[TimelineEvent]) -> None: ...

    async def purge_credentials(self, order_id: str) -> None: ...


class Faults(Protocol):
    def check(self, ctp: str) -> None:
        """Raise SimulatedFault while a fault is configured for this CTP (simulation)."""


class NoFaults:
    def check(self, ctp: str) -> None:
        return None
