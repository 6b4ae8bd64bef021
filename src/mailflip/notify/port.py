"""The Notifier port: emails to partners, POCs and end users."""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    async def send(self, order_id: str, key: str, template: str, to: str,
                   context: dict[str, Any]) -> bool:
        """Send once per key (outbox); False when the key was already sent."""
