"""The Dns port: what the world's resolvers say about the order's domains."""

from __future__ import annotations

from typing import Protocol


class Dns(Protocol):
    async def mx_hosts(self, domain: str) -> list[str]: ...
