"""What the local Microsoft 365 serves and how it misbehaves: plain dataclasses.

Every knob of M365.md §9 that is emulated lives in `Knobs`. Defaults are the realistic
values (a test that wants a well-behaved tenant sets them to 0); the clock and the DNS
resolver are injected so tests never sleep and a deployment can point verification at
a real DNS server.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from mailflip.errors import InvalidInput

Resolver = Callable[[str], Awaitable[list[str]]]  # name -> the TXT strings published there
Clock = Callable[[], float]  # seconds since the epoch

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"


class MxStyle(StrEnum):
    """The two MX forms of M365.md §3 (an adapter must accept both)."""

    CLASSIC = "classic"  # <domain-with-dashes>.mail.protection.outlook.com
    DANE = "dane"  # <domain-with-dashes>.<label>.mx.microsoft (DNSSEC/DANE, since ~2024)


@dataclass(frozen=True)
class SkuConfig:
    part_number: str  # skuPartNumber, e.g. "O365_BUSINESS_PREMIUM"
    sku_id: str  # the SKU's GUID
    enabled: int  # prepaidUnits.enabled
    has_exchange: bool = True  # assigning it provisions a mailbox


@dataclass(frozen=True)
class AppConfig:
    """An app registration the customer's admin has consented to (the admin app)."""

    client_id: str
    client_secret: str
    graph_permissions: tuple[str, ...] = ()  # application permissions of Microsoft Graph
    exchange_permissions: tuple[str, ...] = ()  # of Office 365 Exchange Online
    display_name: str = "mailflip admin"


@dataclass(frozen=True)
class TenantConfig:
    tenant_id: str  # the directory's GUID
    initial_domain: str  # <name>.onmicrosoft.com
    display_name: str = "Contoso"
    skus: tuple[SkuConfig, ...] = ()
    apps: tuple[AppConfig, ...] = ()


@dataclass(frozen=True)
class Knobs:
    """Misbehaviour, M365.md §6 and §9. A zero turns a behaviour off."""

    # throttling: every Nth request is a 429, and/or a token bucket of resource units
    throttle_every: int = 0
    bucket_capacity: float = 3500.0  # resource units per app+tenant (tenant < 50 users)
    bucket_refill_per_s: float = 350.0  # 3,500 per 10 s
    retry_after_s: int = 10
    retry_after_missing_every: int = 10  # every Nth 429 has no Retry-After
    # eventual consistency
    new_user_hidden_reads: int = 2  # GET/PATCH of a new user by id: 404 this many times
    mailbox_delay_s: float = 300.0  # licence assigned -> Get-Mailbox finds it
    usage_location_delay_s: float = 5.0  # PATCHed usageLocation -> assignLicense sees it
    accepted_domain_delay_s: float = 60.0  # Email enabled -> Get-AcceptedDomain lists it
    grant_delay_s: float = 60.0  # appRoleAssignedTo -> newly issued tokens carry the role
    # lost responses: every Nth successful create is committed, then answered 504
    lose_create_every: int = 200
    unavailable_every: int = 500  # every Nth Graph request: 503 with Retry-After
    # paging and sizes
    page_size: int = 100
    max_body_bytes: int = 4 * 1024 * 1024
    token_lifetime_s: int = 3599
    # IMAP (outlook.office365.com:993): commands per mailbox, a token bucket; over it,
    # `BAD Request is throttled. Suggested Backoff Time: N milliseconds` and a hang-up
    imap_commands_per_s: float = 20.0
    imap_command_burst: int = 400
    imap_max_message_bytes: int = 35 * 1024 * 1024  # MaxReceiveSize's default, 35 MB
    mx_style: MxStyle = MxStyle.CLASSIC


QUIET = Knobs(throttle_every=0, bucket_capacity=0, bucket_refill_per_s=0,
              new_user_hidden_reads=0, mailbox_delay_s=0, usage_location_delay_s=0,
              accepted_domain_delay_s=0, grant_delay_s=0, lose_create_every=0,
              unavailable_every=0, retry_after_missing_every=0, imap_commands_per_s=0)
"""A tenant that never throttles and is immediately consistent (for tests that look
at one behaviour at a time)."""


def knobs_from(raw: Any) -> Knobs:
    """`mailflip sim m365 --config FILE`: a `knobs:` mapping over the defaults, each value
    checked (the field named on a bad one)."""
    if raw is None:
        return Knobs()
    if not isinstance(raw, dict) or set(raw) - {"knobs"}:
        raise InvalidInput("config", "expected a mapping with one section, `knobs:`")
    given = raw.get("knobs") or {}
    if not isinstance(given, dict):
        raise InvalidInput("knobs", "must be a mapping of knob names to values")
    defaults = Knobs()
    known = [f.name for f in fields(Knobs)]
    changes: dict[str, Any] = {}
    for name, value in given.items():
        where = f"knobs.{name}"
        if name not in known:
            raise InvalidInput(where, f"unknown knob (known: {', '.join(known)})")
        default = getattr(defaults, name)
        if isinstance(default, MxStyle):
            if value not in {m.value for m in MxStyle}:
                raise InvalidInput(where, "must be one of: "
                                   + ", ".join(m.value for m in MxStyle))
            changes[name] = MxStyle(value)
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidInput(where, "must be a number, 0 or more (0 turns it off)")
        elif isinstance(default, int) and not isinstance(value, int):
            raise InvalidInput(where, "must be a whole number")
        else:
            changes[name] = value
    return replace(defaults, **changes)


async def no_dns(name: str) -> list[str]:
    """Nothing is published anywhere: every verification fails until a resolver is set."""
    return []


@dataclass(frozen=True)
class SimulatorConfig:
    tenants: tuple[TenantConfig, ...]
    knobs: Knobs = field(default_factory=Knobs)
    resolver: Resolver = no_dns
    clock: Clock = time.time
    token_key: bytes = field(default=b"", repr=False)  # signs tokens; empty: one per start


class ManualClock:
    """A clock that moves only when told to: delays measured without waiting."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
