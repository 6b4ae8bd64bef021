"""The simulated world in real time, for `mailflip worker`, `up` and `demo`.

Until the real adapters exist, a worker on a real Temporal server plays the outside
world with the simulator's `SimulatedWorld`, clocked by the wall clock (offset 0: an
activity attempt's time is wall time). One worker serves many orders, so a world file
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

from mailflip.domain.names import Ctp
from mailflip.domain.validation import KNOWN_SKUS
from mailflip.lifecycle.ports import DomainCheck, SetupResult, TenantRef
from mailflip.simulate.scenario import Clock, DnsIn, ScenarioError, WorldIn
from mailflip.simulate.world import SimulatedWorld, WorldConfig

from .inputs import parse_model, read_section, span

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
    source: str  # what to tell people: "built-in demo world" or the file


def demo_world() -> LiveWorldSpec:
    """Everything goes well, quickly: credentials valid, licences plenty, every domain
    verified a minute after the order is placed, MX already pointed, 20 s sync passes."""
    return LiveWorldSpec(
        config=WorldConfig(licenses={sku: 1000 for sku in sorted(KNOWN_SKUS)},
                           sync_duration=timedelta(seconds=20)),
        dns={ANY_DOMAIN: DnsTiming(txt=timedelta(minutes=1), mx=timedelta(0))},
        source="built-in demo world",
    )


class LiveWorld(SimulatedWorld):
    """SimulatedWorld on the wall clock, with DNS timings relative to first sight."""

    def __init__(self, spec: LiveWorldSpec, now: Callable[[], datetime] = wall_clock) -> None:
        super().__init__(spec.config, offset=timedelta(0), now=now)
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

    async def verify_domain(self, t: TenantRef, domain: str) -> DomainCheck:
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
        raise ScenarioError("world.users", "not supported by a live worker: users become "
                            "ready through their order (admin credentials or the link)")
    start = started or wall_clock()
    clock = Clock(start)
    for i, f in enumerate(w.faults):
        if f.ctp not in {c.value for c in Ctp}:
            raise ScenarioError(f"world.faults.{i}.ctp", f"{f.ctp!r} is not a CTP name")
    config = WorldConfig(
        credentials_valid=w.tenant.credentials_valid,
        licenses=dict(w.tenant.licenses),
        verified_domains=[d.lower() for d in w.tenant.verified_domains],
        mailbox_create_fails=[a.lower() for a in w.tenant.mailbox_create_fails],
        agents={a.lower(): v for a, v in w.agents.items()},
        sync_duration=span("world.sync.duration", w.sync.duration),
        sync_fail=[(f.mailbox.lower(), f.pass_) for f in w.sync.fail],
        faults=[(f.ctp, clock.at(f"world.faults.{i}.until", f.until))
                for i, f in enumerate(w.faults)],
    )
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
