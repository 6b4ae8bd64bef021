"""The simulated world in real time, for `mailflip worker --world`, `up --world` and
`demo`.

A worker on a real Temporal server plays the outside world with the simulator's
`SimulatedWorld`, clocked by the wall clock (offset 0: an activity attempt's time is
wall time), only when it is told to. One worker serves many orders, so a world file
cannot name times from a scenario's `start`: an offset such as `+1m` in `dns:` counts
from the moment this worker first hears of the domain (when the order is placed), in
`faults:` from the worker's start. `*` under `dns:` applies to every other domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mailflip.errors import InvalidInput
from mailflip.tenant.port import SetupResult, TenantRef

from .scenario import Clock, DnsIn, WorldIn, parse_model, read_section, span
from .world import SimulatedWorld, WorldConfig, world_config

ANY_DOMAIN = "*"


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DnsTiming:
    """When a domain's TXT record appears / its MX points to Microsoft 365:
    an offset from first sight, an absolute instant, or never (None)."""

    txt: timedelta | datetime | None
    mx: timedelta | datetime | None


@dataclass(frozen=True)
class LiveWorldSpec:
    config: WorldConfig  # tenant, agents, sync, faults (dns comes from `dns`)
    dns: dict[str, DnsTiming]
    source: str  # the file it came from (told to people)


class LiveWorld(SimulatedWorld):
    """SimulatedWorld on the wall clock, with DNS timings relative to first sight."""

    def __init__(self, spec: LiveWorldSpec, now: Callable[[], datetime] = wall_clock) -> None:
        super().__init__(spec.config, offset=timedelta(0), now=now)
        self.spec = spec
        self.dns_timing = spec.dns

    def _learn(self, domain: str) -> None:
        """Fix the domain's DNS instants the first time this worker hears of it."""
        if domain in self.cfg.txt_published_at:
            return
        timing = self.dns_timing.get(domain) or self.dns_timing.get(ANY_DOMAIN)
        first_seen = self.now()

        def at(v: timedelta | datetime | None) -> datetime | None:
            return first_seen + v if isinstance(v, timedelta) else v

        self.cfg.txt_published_at[domain] = at(timing.txt) if timing else None
        self.cfg.mx_to_m365_at[domain] = at(timing.mx) if timing else None

    async def setup(self, t: TenantRef, vanity_domains: list[str]) -> SetupResult:
        for d in vanity_domains:
            self._learn(d)
        return await super().setup(t, vanity_domains)

    def txt_published(self, domain: str) -> bool:
        self._learn(domain)
        return super().txt_published(domain)

    async def verify_domain(self, t: TenantRef, domain: str) -> bool:
        self._learn(domain)
        return await super().verify_domain(t, domain)

    async def mx_hosts(self, domain: str) -> list[str]:
        self._learn(domain)
        return await super().mx_hosts(domain)


def load_world(path: Path, started: datetime | None = None) -> LiveWorldSpec:
    """Read a YAML file holding a `world:` section (SCENARIOS.md format; durations may
    also be in seconds, e.g. `duration: 20s`). Errors name the field."""
    section = read_section(path, "world")
    w = parse_model(WorldIn, section, prefix="world")
    if w.users:
        raise InvalidInput("world.users", "not supported by a live worker: users become "
                            "ready through their order (admin credentials or the link)")
    config = world_config(w, Clock(started or wall_clock()), dns=False)
    dns = {d.lower(): _timing(f"world.dns.{d}", v) for d, v in w.dns.items()}
    return LiveWorldSpec(config, dns, source=str(path))


def _timing(field: str, v: DnsIn) -> DnsTiming:
    return DnsTiming(txt=_when(f"{field}.txt_published_at", v.txt_published_at),
                     mx=_when(f"{field}.mx_to_m365_at", v.mx_to_m365_at))


def _when(field: str, value: Any) -> timedelta | datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    text = str(value).strip()
    if text == "never":
        return None
    if text.startswith("+"):
        return span(field, text, allow_zero=True)
    return Clock.absolute(field, text)
