"""The Agents port: the end users' desktop agents."""

from __future__ import annotations

from typing import Protocol


class Agents(Protocol):
    async def readiness(self, order_id: str, addresses: list[str]) -> dict[str, str]:
        """address -> ready | not_ready | missing"""

    async def flip(self, order_id: str, addresses: list[str]) -> None: ...

    async def stop(self, order_id: str) -> None: ...
