"""DNS contract: the simulated world's DNS and the DNS adapter (dnspython, here asking
`mailflip sim dns`) give the order's activities the same answers: MX hosts before and
after the partner points the domain at Microsoft 365 (either MX form), judged by the
same rule (R-CTP-S7)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailflip.dns.resolver import DnsResolver
from mailflip.dns.sim_server import SimDns
from mailflip.dns.zones import record, set_record
from mailflip.domain.rules import mx_points_to_m365
from mailflip.localnet import free_port
from mailflip.simulate.world import SimulatedWorld, WorldConfig

DOMAIN = "contoso.com"
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@dataclass
class Impl:
    dns: Any  # the Dns port
    point_at_m365: Callable[[], Awaitable[None]]  # the partner changes the MX


@asynccontextmanager
async def simulated(_: Path) -> AsyncIterator[Impl]:
    world = SimulatedWorld(WorldConfig(), timedelta(0), now=lambda: NOW)
    world.cfg.mx_to_m365_at[DOMAIN] = NOW + timedelta(hours=1)

    async def flip() -> None:
        world.cfg.mx_to_m365_at[DOMAIN] = NOW

    yield Impl(world, flip)


@asynccontextmanager
async def resolver(tmp_path: Path) -> AsyncIterator[Impl]:
    zones = tmp_path / "zones"
    set_record(zones, record(DOMAIN, "MX", f"10 mx1.{DOMAIN}"))  # the old mail host
    server = SimDns(zones, port=free_port()).start()

    async def flip() -> None:
        set_record(zones, record(DOMAIN, "MX", "0 contoso-com.mail.protection.outlook.com"))

    try:
        yield Impl(DnsResolver(server.address), flip)
    finally:
        server.stop()


@pytest.mark.parametrize("make", [simulated, resolver], ids=["simulated", "resolver"])
async def test_dns_contract(make: Callable[[Path], Any], tmp_path: Path) -> None:
    async with make(tmp_path) as impl:
        before = await impl.dns.mx_hosts(DOMAIN)
        assert before and all(h == h.lower().rstrip(".") for h in before)
        assert not mx_points_to_m365(DOMAIN, before)
        await impl.point_at_m365()
        after = await impl.dns.mx_hosts(DOMAIN)
        assert after == ["contoso-com.mail.protection.outlook.com"]
        assert mx_points_to_m365(DOMAIN, after)
