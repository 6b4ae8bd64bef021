"""`mailflip orders dns`: an order's vanity domains as the store knows them and as DNS
(here `mailflip sim dns`) says now: MX judged by R-CTP-S7, autodiscover and SPF as
advice."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from mailflip.dns.resolver import DnsResolver
from mailflip.dns.sim_server import SimDns
from mailflip.dns.zones import record, set_record
from mailflip.domain.model import OrderState
from mailflip.domain.rules import autodiscover_points_to_m365, spf_includes_m365
from mailflip.errors import InvalidInput
from mailflip.localnet import free_port
from mailflip.stack.views import dns_report, print_dns_report
from mailflip.store.repositories import SqlStore

StateFactory = Callable[..., OrderState]


async def test_orders_dns_reports_mx_and_advises_on_autodiscover_and_spf(
        store: SqlStore, state_factory: StateFactory, tmp_path: Path) -> None:
    store.record(state_factory(), [])
    zones = tmp_path / "zones"
    set_record(zones, record("contoso.example", "MX", "0 contoso-example.mail.protection."
                             "outlook.com"))
    set_record(zones, record("contoso.example", "TXT", "v=spf1 include:old.example -all"))
    server = SimDns(zones, port=free_port()).start()
    try:
        [row] = await dns_report(store, "o-1", DnsResolver(server.address))
        with pytest.raises(InvalidInput):
            await dns_report(store, "nope", DnsResolver(server.address))
    finally:
        server.stop()
    assert row["mx_to_m365"] and not row["autodiscover_ok"] and not row["spf_ok"]
    assert row["verified"] is False  # as the store has it
    printed = StringIO()
    print_dns_report([row], Console(file=printed, width=400))
    text = " ".join(printed.getvalue().split())
    assert "ok contoso-example.mail.protection.outlook.com" in text
    assert "CNAME autodiscover.contoso.example to autodiscover.outlook.com" in text
    assert "add include:spf.protection.outlook.com" in text


def test_autodiscover_and_spf_advice_rules() -> None:
    assert autodiscover_points_to_m365("Autodiscover.Outlook.com.")
    assert not autodiscover_points_to_m365(None)
    assert not autodiscover_points_to_m365("autodiscover.contoso.example")
    assert spf_includes_m365("v=spf1 include:spf.protection.outlook.com -all")
    assert not spf_includes_m365("v=spf1 include:spf.protection.outlook.com.evil -all")
    assert not spf_includes_m365(None)
