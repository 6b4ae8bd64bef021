"""The DNS adapter (dnspython) against `mailflip sim dns` (dnslib) over real sockets:
what a partner publishes is what the resolver reads, at once; UDP and TCP; timeouts
retried, then a retryable DnsUnavailable; names outside the zones refused."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from mailflip.dns.resolver import DnsResolver, DnsUnavailable, parse_server
from mailflip.dns.sim_server import SimDns
from mailflip.dns.zones import record, records_of, set_record, unset_record
from mailflip.errors import InvalidInput
from mailflip.localnet import free_port

CLASSIC = "contoso-com.mail.protection.outlook.com"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, SimDns]]:
    zones = tmp_path / "zones"
    server = SimDns(zones, port=free_port()).start()
    try:
        yield zones, server
    finally:
        server.stop()


async def test_what_is_published_is_what_the_resolver_reads(
        served: tuple[Path, SimDns]) -> None:
    zones, server = served
    set_record(zones, record("contoso.com", "MX", "10 mx1.contoso.com"))
    resolver = DnsResolver(server.address)
    assert await resolver.mx_hosts("contoso.com") == ["mx1.contoso.com"]
    assert await resolver.txt("contoso.com") == []
    set_record(zones, record("contoso.com", "MX", f"0 {CLASSIC}"))  # the MX flip
    set_record(zones, record("contoso.com", "TXT", "MS=ms12345"))
    set_record(zones, record("contoso.com", "TXT", "v=spf1 include:spf.protection."
                             "outlook.com -all"), add=True)
    set_record(zones, record("autodiscover.contoso.com", "CNAME", "autodiscover.outlook.com"))
    assert await resolver.mx_hosts("contoso.com") == [CLASSIC]
    assert sorted(await resolver.txt("contoso.com"))[0] == "MS=ms12345"
    assert await resolver.spf("contoso.com") == \
        "v=spf1 include:spf.protection.outlook.com -all"
    assert await resolver.cname("autodiscover.contoso.com") == "autodiscover.outlook.com"
    assert await resolver.mx_hosts("nothere.contoso.com") == []  # NXDOMAIN: no records
    unset_record(zones, "contoso.com", "MX")
    assert await resolver.mx_hosts("contoso.com") == []


async def test_mx_hosts_come_most_preferred_first(served: tuple[Path, SimDns]) -> None:
    zones, server = served
    set_record(zones, record("fabrikam.com", "MX", "20 backup.fabrikam.com"))
    set_record(zones, record("fabrikam.com", "MX", "5 fabrikam-com.l-v1.mx.microsoft"),
               add=True)
    assert await DnsResolver(server.address).mx_hosts("fabrikam.com") == [
        "fabrikam-com.l-v1.mx.microsoft", "backup.fabrikam.com"]


async def test_sim_dns_answers_over_tcp_and_refuses_names_outside_its_zones(
        served: tuple[Path, SimDns]) -> None:
    zones, server = served
    set_record(zones, record("contoso.com", "TXT", "MS=ms1"))
    host, port = parse_server(server.address) or ("", 0)
    reply = await dns.asyncquery.tcp(dns.message.make_query("contoso.com", "TXT"), host,
                                     port=port, timeout=5)
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer
    outside = await dns.asyncquery.udp(dns.message.make_query("example.org", "A"), host,
                                       port=port, timeout=5)
    assert outside.rcode() == dns.rcode.REFUSED
    with pytest.raises(DnsUnavailable):
        await DnsResolver(server.address).mx_hosts("example.org")


async def test_a_silent_server_is_asked_again_then_unavailable() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        resolver = DnsResolver(f"127.0.0.1:{port}", timeout_s=0.2, attempts=3)
        with pytest.raises(DnsUnavailable, match="timed out 3 times"):
            await resolver.mx_hosts("contoso.com")
        silent.settimeout(1)
        asked = 0
        try:
            while True:
                silent.recvfrom(512)
                asked += 1
        except TimeoutError:
            pass
    assert asked >= 3  # each attempt reached the server


def test_bad_records_and_servers_are_refused_naming_the_field(tmp_path: Path) -> None:
    for args, field in ((("contoso", "TXT", "x"), "name"), (("contoso.com", "SRV", "x"), "type"),
                        (("contoso.com", "MX", "zero host"), "value"),
                        (("contoso.com", "A", "not-an-ip"), "value"),
                        (("contoso.com", "TXT", " "), "value")):
        with pytest.raises(InvalidInput) as bad:
            record(*args)
        assert bad.value.field == field
    assert records_of(tmp_path, "contoso.com") == []  # nothing was written
    for value in ("host:port", "127.0.0.1:99999", ":53"):
        with pytest.raises(InvalidInput) as bad_server:
            parse_server(value)
        assert bad_server.value.field == "MAILFLIP_DNS_SERVER"
    assert parse_server("10.0.0.53") == ("10.0.0.53", 53)


async def test_the_local_m365_reads_verification_records_from_sim_dns(
        served: tuple[Path, SimDns]) -> None:
    from mailflip.tenant.simulator.local import dns_resolver

    zones, server = served
    txt = dns_resolver(server.address)
    assert await txt("contoso.com") == []
    set_record(zones, record("contoso.com", "TXT", "MS=ms424242"))
    assert await txt("contoso.com") == ["MS=ms424242"]
    server.stop()  # a DNS that does not answer publishes nothing
    assert await dns_resolver(server.address)("contoso.com") == []


async def test_dns_timeouts_in_the_mx_check_are_retried_never_read_as_a_wrong_mx() -> None:
    """R-CTP-S7's check through the real adapter: a DNS that does not answer fails the
    activity with a retryable error (the CTP's retry policy asks again), instead of
    answering "MX not pointing to Microsoft 365" and emailing the partner for nothing."""
    from temporalio.testing import ActivityEnvironment

    from mailflip.lifecycle.order import policies
    from mailflip.lifecycle.order.activities import OrderActivities
    from mailflip.lifecycle.order.messages import MxInput
    from mailflip.tenant.port import TenantRef

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        dns = DnsResolver(f"127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.2, attempts=2)
        acts = OrderActivities(tenant=None, dns=dns, agents=None, notifier=None,  # type: ignore[arg-type]
                               mirror=None)  # type: ignore[arg-type]
        with pytest.raises(DnsUnavailable):
            await ActivityEnvironment().run(acts.check_mx, MxInput(
                "Updating MX Record", TenantRef("o1", "contoso.onmicrosoft.com"),
                ["contoso.com"]))
    assert DnsUnavailable.__name__ not in policies.PERMANENT  # retried, not final
