"""Notifier port over the store's outbox: every key goes out once.

The workflow records a notification's key before asking for it, so it asks once per
order, recipient and trigger; this adapter makes a retried activity (or a worker that
crashed mid-send) deliver nothing twice: the key is claimed in the store first, the
message delivered, then marked sent. A claim left pending by a crash between delivery
and marking is delivered again on retry with the same Message-ID, which receivers
use to drop the copy: at-least-once at the SMTP boundary, once everywhere else.
The POC's all-syncs-done email and the completion email to the partner carry the
order's reconciliation report (R-POC-DONE, R-RECONCILE) as an HTML attachment.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mailflip.domain.names import Template
from mailflip.store.repositories import SqlStore

from .report import html_report, order_report
from .templates import render


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime_type: str  # e.g. "text/html"
    data: bytes


@dataclass
class Outgoing:
    key: str
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()

    @property
    def message_id(self) -> str:
        return f"<{hashlib.sha256(self.key.encode()).hexdigest()[:32]}@mailflip>"


Deliver = Callable[[Outgoing], Awaitable[None]]

# emails that carry the order's reconciliation report (R-POC-DONE: "with each mailbox's
# reconciliation"; R-RECONCILE: the completion email), read from the store when sent
REPORTED = (Template.POC_ALL_SYNCS_DONE, Template.PARTNER_MIGRATION_COMPLETE)


class OutboxNotifier:
    def __init__(self, store: SqlStore, deliver: Deliver) -> None:
        self.store = store
        self.deliver = deliver

    async def send(self, order_id: str, key: str, template: str, to: str,
                   context: dict[str, Any]) -> bool:
        attachments: tuple[Attachment, ...] = ()
        if template in REPORTED:  # R-RECONCILE: the proof
            report = await asyncio.to_thread(order_report, self.store, order_id)
            context = {**context, "report": report["summary"]}
            attachments = (Attachment(f"reconciliation-{order_id}.html", "text/html",
                                      html_report(report).encode()),)
        subject, body = render(template, context)
        trigger = key.rsplit("|", 1)[-1]
        claimed = await asyncio.to_thread(self.store.claim_notification, key, order_id,
                                          template, to, trigger, subject, body)
        if not claimed and await self._sent(order_id, key):
            return False
        await self.deliver(Outgoing(key, to, subject, body, attachments))
        await asyncio.to_thread(self.store.mark_notification_sent, key)
        return True

    async def _sent(self, order_id: str, key: str) -> bool:
        rows = await asyncio.to_thread(self.store.notifications, order_id)
        return any(r.key == key and r.state == "sent" for r in rows)
