"""Notifier contract: the simulated world's SMTP host and the real notifier (the store's
outbox delivered over SMTP to a real server process, `mailflip sim smtp`'s catcher)
answer the order's activity alike: each key goes out once, a second send of a key is
refused (False), and what was delivered is one message per key, to its recipient."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailflip.domain.model import OrderSpec, OrderState, Poc
from mailflip.localnet import free_port
from mailflip.notify.catcher import SmtpCatcher, caught
from mailflip.notify.links import Links
from mailflip.notify.outbox import OutboxNotifier
from mailflip.notify.smtp import SmtpDeliver
from mailflip.simulate.world import SimulatedWorld, WorldConfig
from mailflip.store.repositories import create_store

SENDS = [("user_switch|ann@contoso.com|switch", "user_switch", "ann@contoso.com",
          {"name": "Ann Lee"}),
         ("user_switch|bob@contoso.com|switch", "user_switch", "bob@contoso.com",
          {"name": "Bob Roy"}),
         ("partner_mx_change_needed|ops@acme.example|mx@2027-01-01T09:00:00+00:00",
          "partner_mx_change_needed", "ops@acme.example", {"domains": ["contoso.com"]})]


@dataclass
class Impl:
    notifier: Any  # the Notifier port
    delivered: Callable[[], list[str]]  # the recipients of what was delivered, sorted


@asynccontextmanager
async def simulated(_: Path) -> AsyncIterator[Impl]:
    world = SimulatedWorld(WorldConfig(), timedelta(0))
    yield Impl(world, lambda: sorted(to for _, to in world.sent.values()))


@asynccontextmanager
async def over_smtp(tmp_path: Path) -> AsyncIterator[Impl]:
    store = create_store(f"sqlite:///{tmp_path / 'store.db'}", secret_key=None)
    spec = OrderSpec("acme", "Contoso", Poc("Pat", "pat@contoso.com"),
                     datetime(2027, 1, 1, 9, tzinfo=UTC), "contoso.onmicrosoft.com")
    store.record(OrderState(order_id="o1", spec=spec), [])
    port, maildir = free_port(), tmp_path / "caught"
    catcher = SmtpCatcher(maildir, port=port).start()
    try:
        yield Impl(OutboxNotifier(store, SmtpDeliver("127.0.0.1", port, "mf@localhost"),
                                  Links(store, "k", "https://mf.example", "https://a.example")),
                   lambda: sorted(c.to for c in caught(maildir)))
    finally:
        catcher.stop()
        store.close()


@pytest.mark.parametrize("make", [simulated, over_smtp], ids=["simulated", "smtp"])
async def test_each_key_goes_out_once(make, tmp_path: Path) -> None:
    async with make(tmp_path) as impl:
        for key, template, to, context in SENDS:
            assert await impl.notifier.send("o1", key, template, to, context)
        for key, template, to, context in SENDS:  # a retried activity sends nothing twice
            assert not await impl.notifier.send("o1", key, template, to, context)
        assert impl.delivered() == ["ann@contoso.com", "bob@contoso.com", "ops@acme.example"]
