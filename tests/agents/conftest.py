"""The agents' API served over real HTTP (uvicorn on a free port) with a store whose
clock the test moves; a helper that enrols a user as their email would let them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailflip.agents.api import agents_app
from mailflip.localnet import free_port
from mailflip.notify.links import Links
from mailflip.store.repositories import SqlStore, create_store
from mailflip.webserve import serving

ORDER = "o1"
START = datetime(2027, 1, 15, 9, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@dataclass
class Served:
    url: str
    store: SqlStore
    links: Links
    clock: Clock

    async def code_for(self, address: str) -> str:
        """The enrolment code the user's prepare-for-migration email carries."""
        links, _ = await self.links.for_email("user_prepare_for_migration", ORDER, address)
        return links["agent"]["token"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def agents_store(tmp_path: Path, clock: Clock) -> SqlStore:
    store = create_store(f"sqlite:///{tmp_path / 'store.db'}", secret_key=None, clock=clock)
    yield store
    store.close()


@pytest.fixture
async def served(agents_store: SqlStore, clock: Clock) -> AsyncIterator[Served]:
    port = free_port()
    async with serving(agents_app(agents_store, poll_every_s=1), "127.0.0.1", port,
                       what="the agents' API", command="test", option="port"):
        url = f"http://127.0.0.1:{port}"
        yield Served(url, agents_store, Links(agents_store, "test-secret", "https://mf.example",
                                              url), clock)
