"""The portal acting on real order workflows: Temporal's time-skipping server, a worker
over the simulated world mirroring into the portal's store, the portal app with its
actions, and an HTTP client on the same event loop. Time moves only when a test skips
it (`Live.skip`), and the portal's clock follows the server's."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import yaml
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from mailflip.config import DEV_PAYLOAD_KEYS, parse_payload_keys
from mailflip.lifecycle.converter import data_converter
from mailflip.lifecycle.order.messages import EngineSettings
from mailflip.lifecycle.worker import Adapters, make_worker
from mailflip.notify.links import Links
from mailflip.simulate.runner import time_skipping
from mailflip.simulate.world import SimulatedWorld, WorldConfig
from mailflip.stack.demo_order import DEMO_ORDER_YAML
from mailflip.store.repositories import SqlStore
from mailflip.store.sql_mirror import SqlMirror
from mailflip.web.actions import OrderActions
from mailflip.web.app import portal_app
from mailflip.web.enduser import EndUser

QUEUE = "mailflip-web-tests"
SECRET = "k" * 32
SKU = "O365_BUSINESS_PREMIUM"


def demo_order(**changes: Any) -> dict[str, Any]:
    """The demo order (contoso.example, two users) as the API takes it."""
    order = copy.deepcopy(yaml.safe_load(DEMO_ORDER_YAML)["order"])
    order.update(changes)
    return order


@dataclass
class Live:
    env: WorkflowEnvironment
    store: SqlStore
    app: FastAPI
    actions: OrderActions
    links: Links
    skew: list[timedelta] = field(default_factory=lambda: [timedelta(0)])

    def now(self) -> datetime:
        return datetime.now(UTC) + self.skew[0]

    async def skip(self, by: timedelta) -> None:
        """Let `by` pass on the server (timers fire, activities run)."""
        await self.env.sleep(by)
        self.skew[0] = await self.env.get_current_time() - datetime.now(UTC)

    def http(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://portal.test", headers=headers,
                                 follow_redirects=True)


@asynccontextmanager
async def live_portal(store: SqlStore, world: WorldConfig | None = None,
                      preflight: Any = None) -> AsyncIterator[Live]:
    cfg = world or WorldConfig(licenses={SKU: 100}, verified_domains=["contoso.example"])
    # the dev payload key, as a `mailflip portal` beside it reads it (test_portal_cmd)
    async with time_skipping(data_converter(parse_payload_keys(DEV_PAYLOAD_KEYS))) as env:
        sim = SimulatedWorld(cfg, timedelta(0))
        adapters = Adapters(sim, sim, sim, sim, sim, SqlMirror(store))
        skew = [await env.get_current_time() - datetime.now(UTC)]
        links = Links(store, SECRET, "http://portal.test", "http://agents.test")

        def clock() -> datetime:
            return datetime.now(UTC) + skew[0]

        actions = OrderActions(env.client, QUEUE, EngineSettings(), store, clock)
        app = portal_app(store, SECRET, secure_cookies=False, clock=clock, actions=actions,
                         enduser=EndUser(links, SECRET, clock), preflight=preflight)
        async with make_worker(env.client, QUEUE, adapters):
            yield Live(env, store, app, actions, links, skew)


@asynccontextmanager
async def served(live: Live) -> AsyncIterator[str]:
    """The live portal over real HTTP on a free loopback port, in this event loop (so
    the browser or a client in another thread reaches it while Temporal runs here)."""
    from mailflip.localnet import free_port
    from mailflip.webserve import serving

    port = free_port()
    async with serving(live.app, "127.0.0.1", port, what="the portal", command="tests",
                       option="--port"):
        yield f"http://127.0.0.1:{port}"
