"""The composition root picks each port's adapter from the settings; a port with no
adapter is an explicit error at start, never a silent fake; a simulated world serves
only when asked for, and says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailflip.compose import compose
from mailflip.config import Settings
from mailflip.dns.resolver import DnsResolver
from mailflip.errors import InvalidInput, StackError
from mailflip.mail.engine_mover import EngineMover
from mailflip.notify.outbox import OutboxNotifier
from mailflip.simulate.live import LiveWorld, load_world
from mailflip.stack.demo import DEMO_WORLD, find_example

from .cli import env_for, mailflip


def settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path}/mailflip.db", **kw)


def test_without_adapters_or_world_composing_names_every_unconfigured_port(
        tmp_path: Path) -> None:
    with pytest.raises(StackError) as err:
        compose(settings(tmp_path))

    text = str(err.value)
    for port in ("tenant", "dns", "agents", "notify", "mail"):
        assert f"no {port} adapter configured" in text
    assert "--world" in text and "MAILFLIP_NOTIFY=smtp" in text


def test_a_world_serves_the_ports_without_a_real_adapter(tmp_path: Path) -> None:
    c = compose(settings(tmp_path), load_world(find_example(DEMO_WORLD)))
    try:
        assert isinstance(c.adapters.tenant, LiveWorld) and c.adapters.mover is c.world
        assert set(c.simulated) == {"tenant", "dns", "agents", "notify", "mail"}
        assert c.interceptors  # world.faults, installed on the worker only
    finally:
        c.close()


def test_real_adapters_are_picked_by_settings_beside_a_world(tmp_path: Path) -> None:
    endpoints = tmp_path / "mailboxes.csv"
    endpoints.write_text("mailbox,source,target\n"
                         "ann@contoso.com,maildir:///tmp/src/ann,maildir:///tmp/dst/ann\n")
    c = compose(settings(tmp_path, notify="smtp", smtp_host="mail.internal", mail="engine",
                         mail_endpoints=endpoints, dns="resolver",
                         dns_server="127.0.0.1:8053"),
                load_world(find_example(DEMO_WORLD)))
    try:
        assert isinstance(c.adapters.notifier, OutboxNotifier)
        assert isinstance(c.adapters.mover, EngineMover)
        assert isinstance(c.adapters.dns, DnsResolver)
        assert c.served_by["notify"].endswith("SMTP mail.internal:1025")
        assert c.served_by["dns"] == "DNS 127.0.0.1:8053"
        assert "1 mailboxes" in c.served_by["mail"]
        assert set(c.simulated) == {"tenant", "agents"}
    finally:
        c.close()


@pytest.mark.parametrize(("kw", "field"), [
    ({"tenant": "beta-graph"}, "MAILFLIP_TENANT"),
    ({"notify": "carrier-pigeon"}, "MAILFLIP_NOTIFY"),
    ({"mail": "engine"}, "MAILFLIP_MAIL_ENDPOINTS"),
    ({"dns": "bind9"}, "MAILFLIP_DNS"),
    ({"dns": "resolver", "dns_server": "dns.internal:port"}, "MAILFLIP_DNS_SERVER"),
    ({"notify": "smtp", "smtp_user": "mailflip"}, "MAILFLIP_SMTP_PASSWORD"),
], ids=["unknown-tenant-adapter", "unknown-notifier", "engine-without-endpoints",
        "unknown-dns-adapter", "bad-dns-server", "smtp-login-without-password"])
def test_a_bad_adapter_setting_names_the_setting(tmp_path: Path, kw: dict[str, object],
                                                  field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        compose(settings(tmp_path, **kw), load_world(find_example(DEMO_WORLD)))

    assert err.value.field == field


def test_the_worker_refuses_to_start_with_no_adapters(tmp_path: Path) -> None:
    result = mailflip("worker", env=env_for(tmp_path), cwd=tmp_path)

    assert result.returncode == 1
    assert "no tenant adapter configured" in " ".join(result.stderr.split())  # (wrapped)
    assert "Traceback" not in result.stderr
