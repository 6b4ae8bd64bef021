"""`mailflip sim dns`: serve zones over UDP and TCP; `set`, `unset` and `show` edit and
read them, and the running server answers with the change on the next query."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mailflip.dns.resolver import DnsResolver
from mailflip.localnet import free_port

from .cli import MAILFLIP, env_for, mailflip, wait_listening


async def test_sim_dns_serves_what_set_publishes_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, zones, env = free_port(), tmp_path / "zones", env_for(tmp_path)
    proc = subprocess.Popen([MAILFLIP, "sim", "dns", "--port", str(port), "--zones",
                             str(zones)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(port, proc, "mailflip sim dns")
        resolver = DnsResolver(f"127.0.0.1:{port}")
        published = mailflip("sim", "dns", "set", "contoso.com", "TXT", "MS=ms12345",
                             "--zones", str(zones), env=env)
        assert published.returncode == 0, published.stderr
        assert await resolver.txt("contoso.com") == ["MS=ms12345"]
        mx = mailflip("sim", "dns", "--zones", str(zones), "set", "contoso.com", "MX",
                      "0 contoso-com.mail.protection.outlook.com", env=env)
        assert mx.returncode == 0, mx.stderr
        assert await resolver.mx_hosts("contoso.com") == [
            "contoso-com.mail.protection.outlook.com"]
        shown = mailflip("sim", "dns", "show", "contoso.com", "--zones", str(zones), env=env)
        assert shown.stdout.splitlines() == [
            'contoso.com. 300 IN TXT "MS=ms12345"',
            "contoso.com. 300 IN MX 0 contoso-com.mail.protection.outlook.com."]
        gone = mailflip("sim", "dns", "unset", "contoso.com", "TXT", "--zones", str(zones),
                        env=env)
        assert "withdrew 1 record(s)" in gone.stdout
        assert await resolver.txt("contoso.com") == []
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"MAILFLIP_DNS_SERVER=127.0.0.1:{port}" in out


def test_sim_dns_set_refuses_a_bad_record_naming_the_field(tmp_path: Path) -> None:
    zones = tmp_path / "zones"
    bad = mailflip("sim", "dns", "set", "contoso.com", "MX", "zero host", "--zones",
                   str(zones), env=env_for(tmp_path))
    assert bad.returncode == 2
    assert "value: 'zero host' is not a valid MX value" in bad.stderr
    assert not zones.exists()  # nothing written


def test_orders_dns_of_an_unknown_order_names_the_field(tmp_path: Path) -> None:
    result = mailflip("orders", "dns", "ord-nope", env=env_for(tmp_path))
    assert result.returncode == 2
    assert "order_id" in result.stderr
