"""The stack's world publisher: the world file's `dns:` timings become real records in
the local DNS's zones, as a partner would publish them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailflip.dns.zones import records_of
from mailflip.simulate.live import LiveWorld, load_world
from mailflip.stack.demo import DEMO_WORLD, find_example
from mailflip.stack.dns import WorldPublisher
from mailflip.tenant.simulator.model import verification_code

TENANT = "4d1a2b3c-0000-4000-8000-00000000c0de"


async def test_the_txt_record_appears_when_the_world_file_says(tmp_path: Path) -> None:
    now = [datetime(2026, 12, 7, 9, tzinfo=UTC)]
    world = LiveWorld(load_world(find_example(DEMO_WORLD)), now=lambda: now[0])
    domains = [(TENANT, ["contoso.onmicrosoft.com"])]
    publisher = WorldPublisher(world, tmp_path, lambda: domains)
    await publisher.publish_once()
    assert records_of(tmp_path, "contoso.onmicrosoft.com") == []  # Microsoft's, not ours

    domains[0][1].append("contoso.example")  # Setup added it: first sight
    await publisher.publish_once()
    kinds = {(r.type, r.value) for r in records_of(tmp_path, "contoso.example")}
    # demo.yaml: MX points to Microsoft 365 at once, the TXT record a minute later
    assert kinds == {("MX", "0 contoso-example.mail.protection.outlook.com.")}
    now[0] += timedelta(minutes=1)
    await publisher.publish_once()
    kinds = {(r.type, r.value) for r in records_of(tmp_path, "contoso.example")}
    assert ("TXT", f'"{verification_code(TENANT, "contoso.example")}"') in kinds
    assert len(kinds) == 2
