"""The Agents port over the store, which the agents' API (api.py) keeps up to date:
readiness is what each agent last reported (R-READINESS-4H), a flip is a command queued
for each ready agent and acknowledged by it, stop a command for every enrolled one.

MigrateEmail does not wait for the acknowledgements: a PC that is off must not hold up
the cutover of the whole order; `mailflip orders agents ID` shows which flipped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from mailflip.domain.agents import status
from mailflip.store.agents import GATHER, AgentRegistry

FLIP, STOP = "flip", "stop"
M365_ACCOUNT = "microsoft365"  # the account type a flipped mail profile names


def flip_server(imap_url: str) -> str:
    """The server a flipped mail profile names: the tenant's IMAP host (with its port
    when it is not 993), e.g. outlook.office365.com."""
    u = urlsplit(imap_url)
    host = u.hostname or ""
    return host if u.port in (None, 993) else f"{host}:{u.port}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class StoreAgents:
    def __init__(self, store: AgentRegistry, m365_host: str = "outlook.office365.com",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store, self.m365_host, self.clock = store, m365_host, clock

    def __repr__(self) -> str:
        return f"StoreAgents(flip to {self.m365_host})"

    async def readiness(self, order_id: str, addresses: list[str]) -> dict[str, str]:
        """address -> ready | not_ready | missing"""
        seen = {a.address: a for a in await asyncio.to_thread(self.store.agents, order_id)}
        now = self.clock()
        out = {}
        for address in addresses:
            a = seen.get(address.lower())
            out[address] = status(a.readiness if a else None, a.last_seen if a else None, now)
        return out

    async def flip(self, order_id: str, addresses: list[str]) -> None:
        ready = [a for a, st in (await self.readiness(order_id, addresses)).items()
                 if st == "ready"]
        await asyncio.to_thread(self.store.queue_commands, order_id, FLIP, {
            a.lower(): {"account_type": M365_ACCOUNT, "server": self.m365_host,
                        "address": a} for a in ready})

    async def stop(self, order_id: str) -> None:
        """Migration Completed Steps: every agent is told to stop, the gather-info links
        stop working; an agent's own code stops when it acknowledges."""
        enrolled = await asyncio.to_thread(self.store.agents, order_id)
        await asyncio.to_thread(self.store.queue_commands, order_id, STOP,
                                {a.address: {} for a in enrolled})
        await asyncio.to_thread(self.store.revoke_tokens, order_id, GATHER)
