"""The local DNS inside `mailflip up` and `mailflip demo`.

With no DNS adapter configured, the stack serves `mailflip sim dns`'s server (zones in
DATA_DIR/dns) and points both readers of DNS at it: the worker's DNS adapter (the MX
check of Updating MX Record) and the local Microsoft 365 (domain verification). Nothing
reads the world's DNS any more; instead the world, which plays the partner, publishes:
`WorldPublisher` writes each domain's TXT verification record and MX records into the
zones when the world file says the partner does (`dns:` offsets count from when the
domain first appears in the local tenant, i.e. Setup Office 365 Account). A person can
publish the same way: `mailflip sim dns set DOMAIN TXT ... --zones DATA_DIR/dns`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailflip.config import Settings
from mailflip.dns.zones import Record, record, set_record, unset_record
from mailflip.localnet import ensure_free

PORT = 8053


@dataclass(frozen=True)
class LocalDns:
    zones: Path
    port: int = PORT
    host: str = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"dns": "resolver", "dns_server": self.address})

    @contextmanager
    def serving(self) -> Iterator[None]:
        from mailflip.dns.sim_server import SimDns

        ensure_free(self.host, self.port, "mailflip sim dns", "--dns-port")
        self.zones.mkdir(parents=True, exist_ok=True)
        server = SimDns(self.zones, self.host, self.port).start()
        try:
            yield
        finally:
            server.stop()


# (tenant id, the tenant's domain names): what the local Microsoft 365 holds now
Domains = Callable[[], Iterable[tuple[str, list[str]]]]


class WorldPublisher:
    """The world's `dns:` timings, published as records in the zones."""

    def __init__(self, world: Any, zones: Path, domains: Domains) -> None:
        self.world = world
        self.zones = zones
        self.domains = domains
        self._published: dict[tuple[str, str], tuple[str, ...]] = {}

    async def publish_once(self) -> None:
        from mailflip.tenant.simulator.model import verification_code

        for tenant_id, names in list(self.domains()):
            for domain in names:
                if domain.endswith(".onmicrosoft.com"):
                    continue
                txt = ((record(domain, "TXT", verification_code(tenant_id, domain)),)
                       if self.world.txt_published(domain) else ())
                hosts = await self.world.mx_hosts(domain)
                mx = tuple(record(domain, "MX", f"{10 * i} {h}") for i, h in enumerate(hosts))
                self._ensure(domain, "TXT", txt)
                self._ensure(domain, "MX", mx)

    def _ensure(self, domain: str, rtype: str, wanted: tuple[Record, ...]) -> None:
        key, values = (domain, rtype), tuple(r.value for r in wanted)
        if self._published.get(key) == values:
            return
        if not values:
            unset_record(self.zones, domain, rtype)
        for i, rec in enumerate(wanted):
            set_record(self.zones, rec, add=i > 0)
        self._published[key] = values

    async def run(self, every_s: float = 1.0) -> None:
        while True:
            await self.publish_once()
            await asyncio.sleep(every_s)  # a partner editing DNS: a tick a second
