"""Bad input (SPEC.md "Bad input"): every check names the field; nothing is changed.

Checks raise `InvalidInput(field, message)`, the one input error of every layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput
from .model import OrderSpec, UserSpec

# Licence SKUs mailflip knows (Microsoft's skuPartNumber values for mailbox plans).
KNOWN_SKUS = frozenset(
    {
        "O365_BUSINESS_ESSENTIALS",
        "O365_BUSINESS_PREMIUM",
        "SPB",
        "SPE_E3",
        "SPE_E5",
        "ENTERPRISEPACK",
        "ENTERPRISEPREMIUM",
        "STANDARDPACK",
        "EXCHANGESTANDARD",
        "EXCHANGEENTERPRISE",
        "EXCHANGE_S_ESSENTIALS",
    }
)
LOCK_WINDOW = timedelta(hours=4)

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+[a-z]{{2,63}}$")
_LOCAL_RE = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


def check_domain(field: str, value: str) -> str:
    v = (value or "").strip().lower()
    if len(v) > 253 or not _DOMAIN_RE.match(v):
        raise InvalidInput(field, f"{value!r} is not a domain name")
    return v


def check_address(field: str, value: str) -> str:
    v = (value or "").strip().lower()
    local, at, domain = v.rpartition("@")
    if not at or not local or len(local) > 64 or not _LOCAL_RE.match(local):
        raise InvalidInput(field, f"{value!r} is not an email address")
    check_domain(field, domain)
    return v


def check_time_zone(field: str, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(field, f"{value!r} is not an IANA time zone") from None
    return value


def check_cutover(field: str, cutover: datetime, now: datetime, *, min_lead: timedelta) -> None:
    """A cutover in the past or inside the lock window (or closer than `min_lead`) is refused."""
    if cutover.tzinfo is None:
        raise InvalidInput(field, "must carry a time zone (use UTC, e.g. 2026-12-01T09:00:00Z)")
    if cutover <= now:
        raise InvalidInput(field, f"{cutover.isoformat()} is in the past")
    if cutover - now < min_lead:
        hours = min_lead.total_seconds() / 3600
        raise InvalidInput(field, f"must be at least {hours:g} h from now (lock window)")


def order_domains(spec: OrderSpec) -> set[str]:
    return {spec.initial_domain, *spec.vanity_domains}


def check_user(field: str, user: UserSpec, domains: set[str]) -> UserSpec:
    if not user.name.strip():
        raise InvalidInput(f"{field}.name", "must not be empty")
    source = check_address(f"{field}.source", user.source)
    target = check_address(f"{field}.target", user.target)
    if target.split("@", 1)[1] not in domains:
        raise InvalidInput(f"{field}.target", f"{target} is outside the order's domains")
    if user.sku not in KNOWN_SKUS:
        raise InvalidInput(f"{field}.sku", f"unknown SKU {user.sku!r}")
    aliases = [check_address(f"{field}.aliases[{i}]", a) for i, a in enumerate(user.aliases)]
    return UserSpec(name=user.name.strip(), source=source, target=target, sku=user.sku,
                    aliases=aliases)


def check_no_duplicates(field: str, addresses: Iterable[tuple[str, str]]) -> None:
    """`addresses` are (field path, address) pairs; the first repeat is refused."""
    seen: dict[str, str] = {}
    for path, addr in addresses:
        if addr in seen:
            raise InvalidInput(path, f"duplicate address {addr} (also at {seen[addr]})")
        seen[addr] = path


def check_spec(spec: OrderSpec, now: datetime, lock_lead: timedelta = LOCK_WINDOW
               ) -> OrderSpec:
    """Validate and normalise a whole order; returns the normalised copy. `lock_lead`:
    R-LOCK-4H's window (shorter only on a scaled clock, MAILFLIP_TIME_SCALE)."""
    for name in ("partner", "customer"):
        if not getattr(spec, name).strip():
            raise InvalidInput(f"order.{name}", "must not be empty")
    if not spec.poc.name.strip():
        raise InvalidInput("order.poc.name", "must not be empty")
    poc_email = check_address("order.poc.email", spec.poc.email)
    partner_email = (check_address("order.partner_email", spec.partner_email)
                     if spec.partner_email else None)
    check_time_zone("order.time_zone", spec.time_zone)
    initial = check_domain("order.tenant.initial_domain", spec.initial_domain)
    if not initial.endswith(".onmicrosoft.com"):
        raise InvalidInput("order.tenant.initial_domain", "must end with .onmicrosoft.com")
    vanity = [check_domain(f"order.vanity_domains[{i}]", d)
              for i, d in enumerate(spec.vanity_domains)]
    check_no_duplicates("order.vanity_domains",
                        ((f"order.vanity_domains[{i}]", d) for i, d in enumerate(vanity)))
    check_cutover("order.cutover", spec.cutover, now, min_lead=lock_lead)
    domains = {initial, *vanity}
    users = [check_user(f"order.users[{i}]", u, domains) for i, u in enumerate(spec.users)]
    shared = []
    for i, s in enumerate(spec.shared_mailboxes):
        addr = check_address(f"order.shared_mailboxes[{i}].address", s.address)
        if addr.split("@", 1)[1] not in domains:
            raise InvalidInput(f"order.shared_mailboxes[{i}].address",
                             f"{addr} is outside the order's domains")
        shared.append(type(s)(name=s.name, address=addr))
    check_no_duplicates("order", [
        *((f"order.users[{i}].target", u.target) for i, u in enumerate(users)),
        *((f"order.shared_mailboxes[{i}].address", s.address) for i, s in enumerate(shared)),
    ])
    check_no_duplicates("order", ((f"order.users[{i}].source", u.source)
                                  for i, u in enumerate(users)))
    groups = []
    for i, g in enumerate(spec.distribution_groups):
        addr = check_address(f"order.distribution_groups[{i}].address", g.address)
        members = [check_address(f"order.distribution_groups[{i}].members[{j}]", m)
                   for j, m in enumerate(g.members)]
        groups.append(type(g)(address=addr, members=members))
    return replace(spec, poc=type(spec.poc)(spec.poc.name.strip(), poc_email),
                   partner_email=partner_email, initial_domain=initial, vanity_domains=vanity,
                   users=users, shared_mailboxes=shared, distribution_groups=groups)
