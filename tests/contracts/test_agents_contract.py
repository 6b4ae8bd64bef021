"""Agents contract: the simulated world's agents and the real adapter (StoreAgents over
the agents' API, with agents reporting over HTTP) answer the order's activities alike:
readiness per user (R-READINESS-4H: ready, not_ready, missing) and MigrateEmail's flip
reaching exactly the ready agents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailflip.agents.api import agents_app
from mailflip.agents.store_agents import StoreAgents
from mailflip.localnet import free_port
from mailflip.notify.links import Links
from mailflip.simulate.world import SimulatedWorld, WorldConfig
from mailflip.store.repositories import create_store
from mailflip.webserve import serving

ORDER = "o1"
NOW = datetime(2027, 1, 15, 9, tzinfo=UTC)
USERS = {"ann@contoso.com": "ready", "bob@contoso.com": "not_ready",
         "cy@contoso.com": "missing"}
REPORTS = {"ready": {"outlook_version": "16.0.1", "profile_found": True,
                     "disk_free_mb": 5000, "m365_reachable": True},
           "not_ready": {"outlook_version": "16.0.1", "profile_found": False,
                         "disk_free_mb": 5000, "m365_reachable": True}}


@dataclass
class Impl:
    agents: Any  # the Agents port
    flipped: Any  # () -> the addresses a flip reached


@asynccontextmanager
async def simulated(_: Path) -> AsyncIterator[Impl]:
    world = SimulatedWorld(WorldConfig(agents=dict(USERS)), timedelta(0), now=lambda: NOW)
    yield Impl(world, lambda: sorted(world.flipped))


@asynccontextmanager
async def over_the_api(tmp_path: Path) -> AsyncIterator[Impl]:
    store = create_store(f"sqlite:///{tmp_path / 'store.db'}", secret_key=None,
                         clock=lambda: NOW)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    links = Links(store, "contract", "https://mf.example", url)
    try:
        async with serving(agents_app(store), "127.0.0.1", port, what="the agents' API",
                           command="test", option="port"), httpx.AsyncClient(
                               base_url=url) as http:
            for address, state in USERS.items():
                if state == "missing":
                    continue  # never installed
                token = (await links.for_email("user_prepare_for_migration", ORDER, address)
                         )[0]["agent"]["token"]
                auth = {"Authorization": f"Bearer {token}"}
                (await http.post("/agent/v1/enrol", json={"host": "PC"}, headers=auth)
                 ).raise_for_status()
                (await http.post("/agent/v1/readiness", json=REPORTS[state], headers=auth)
                 ).raise_for_status()
            yield Impl(StoreAgents(store, clock=lambda: NOW),
                       lambda: sorted(c.address for c in store.commands(ORDER)
                                      if c.kind == "flip"))
    finally:
        store.close()


@pytest.mark.parametrize("make", [simulated, over_the_api], ids=["simulated", "api"])
async def test_agents_answer_readiness_and_flip_the_same(make, tmp_path) -> None:
    async with make(tmp_path) as impl:
        assert await impl.agents.readiness(ORDER, list(USERS)) == USERS
        await impl.agents.flip(ORDER, list(USERS))
        assert impl.flipped() == ["ann@contoso.com"]
        await impl.agents.stop(ORDER)
