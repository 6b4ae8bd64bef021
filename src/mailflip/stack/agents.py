"""The desktop agents inside `mailflip up` and `mailflip demo`.

With no agents adapter configured, the stack serves the agents' API (port 8070) and
plays the end users' PCs: once an order's prepare-for-migration email has gone out to
a user, a reference agent (agents/reference.py, as `mailflip agent` runs it) starts for
them, with the enrolment code that email carries and a mail profile in
DATA_DIR/agents/<address>.json pointing at the source host. It enrols, reports
readiness, flips that profile to Microsoft 365 when MigrateEmail says so, and stops
when the order completes."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mailflip.agents.reference import AgentRefused, JsonProfile, PcFacts, ReferenceAgent
from mailflip.config import Settings
from mailflip.store.agents import AGENT
from mailflip.store.repositories import SqlStore

log = logging.getLogger("mailflip.agent")

PORT = 8070
PREPARE = "user_prepare_for_migration"
WATCH_EVERY_S = 2.0  # how often the stack looks for newly sent prepare emails


@dataclass(frozen=True)
class LocalAgents:
    profiles: Path  # DATA_DIR/agents: one mail profile per end user
    port: int = PORT
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings(self, settings: Settings) -> Settings:
        # the local PCs call back every 5 s, so that a flip shows at once in the demo
        return settings.model_copy(update={"agents": "api", "agents_url": self.url,
                                           "agents_listen": f"{self.host}:{self.port}",
                                           "agents_poll_seconds": 5})

    @asynccontextmanager
    async def pcs(self, settings: Settings, store: SqlStore) -> AsyncIterator[Pcs]:
        """End users' PCs, each running the reference agent, until the block ends."""
        pcs = Pcs(self, settings, store)
        task = asyncio.create_task(pcs.watch())
        try:
            yield pcs
        finally:
            task.cancel()
            pcs.stop()


class Pcs:
    def __init__(self, local: LocalAgents, settings: Settings, store: SqlStore) -> None:
        from mailflip.notify.links import Links

        assert settings.secret_key is not None
        self.local, self.settings, self.store = local, settings, store
        self.links = Links(store, settings.secret_key.get_secret_value(),
                           settings.public_url, settings.agents_url)
        self.running: dict[tuple[str, str], tuple[threading.Thread, ReferenceAgent]] = {}

    async def watch(self) -> None:
        while True:
            for order_id in await asyncio.to_thread(self.store.open_orders):
                for n in await asyncio.to_thread(self.store.notifications, order_id):
                    if n.template == PREPARE and n.state == "sent" and \
                            (order_id, n.recipient) not in self.running:
                        await asyncio.to_thread(self.start, order_id, n.recipient)
            await asyncio.sleep(WATCH_EVERY_S)

    def start(self, order_id: str, address: str) -> None:
        profile = self.local.profiles / order_id / f"{address}.json"
        profile.parent.mkdir(parents=True, exist_ok=True)
        if not profile.exists():  # the PC's mail client, set up for the source host
            mailbox = self.store.mailbox(order_id, address)
            source = mailbox.source if mailbox else address
            profile.write_text(json.dumps({
                "account_type": "imap", "server": "mail." + source.rpartition("@")[2],
                "address": address}, indent=2) + "\n")
        m365 = urlsplit(self.settings.m365_graph_url)
        facts = PcFacts(m365_host=m365.hostname or "outlook.office365.com",
                        m365_port=m365.port or 443, host=f"PC-{address.split('@')[0]}")
        agent = ReferenceAgent(self.settings.agents_url,
                               self.links.token(AGENT, order_id, address),
                               JsonProfile(profile), facts, profile.parent)
        thread = threading.Thread(target=self._run, args=(agent, address), daemon=True,
                                  name=f"agent {address}")
        self.running[(order_id, address)] = (thread, agent)
        thread.start()

    @staticmethod
    def _run(agent: ReferenceAgent, address: str) -> None:
        try:
            agent.run(lambda event: log.info("agent of %s: %s", address, event))
        except AgentRefused as exc:
            log.warning("agent of %s: %s", address, exc)

    def stop(self) -> None:
        for _, agent in self.running.values():
            agent.stopped.set()
        for thread, _ in self.running.values():
            thread.join(timeout=5)
