"""The personal links and codes in end users' emails: the gather-info page's link
(`user_gather_info`) and the desktop agent's enrolment code (`user_prepare_for_migration`).

A token is an HMAC of (purpose, order, address) under the service's secret key: the same
on every render, so that an email delivered again after a crash carries the same link.
The store keeps only its hash, to find the user when the token comes back (the end-user
page, the agent API); the copy of the email kept in the outbox shows a placeholder."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any

from mailflip.store.agents import AGENT, GATHER, AgentRegistry

HIDDEN = "(personal code, not kept)"


class Links:
    def __init__(self, store: AgentRegistry, secret: str, public_url: str, agents_url: str
                 ) -> None:
        self.store = store
        self._key = hashlib.sha256(b"mailflip links|" + secret.encode()).digest()
        self.public_url, self.agents_url = public_url.rstrip("/"), agents_url.rstrip("/")

    def __repr__(self) -> str:
        return f"Links({self.public_url}, agents {self.agents_url})"

    def token(self, purpose: str, order_id: str, address: str) -> str:
        mac = hmac.new(self._key, f"{purpose}|{order_id}|{address.lower()}".encode(),
                       hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def gather_url(self, token: str) -> str:
        return f"{self.public_url}/u/{token}"

    async def for_email(self, template: str, order_id: str, to: str
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the links the email carries, the same with placeholders for the kept copy)."""
        if template == "user_gather_info":
            token = await self._issue(GATHER, order_id, to)
            return {"link": self.gather_url(token)}, {"link": self.gather_url(HIDDEN)}
        if template == "user_prepare_for_migration":
            token = await self._issue(AGENT, order_id, to)
            return ({"agent": {"server": self.agents_url, "token": token}},
                    {"agent": {"server": self.agents_url, "token": HIDDEN}})
        return {}, {}

    async def _issue(self, purpose: str, order_id: str, to: str) -> str:
        token = self.token(purpose, order_id, to)
        await asyncio.to_thread(self.store.register_tokens, purpose,
                                {(order_id, to.lower()): token})
        return token
