"""Notifier port over the store's outbox: every key goes out once.

The workflow records a notification's key before asking for it, so it asks once per
order, recipient and trigger; this adapter makes a retried activity (or a worker that
crashed mid-send) deliver nothing twice: the key is claimed in the store first, the
message delivered, then marked sent. A claim left pending by a crash between delivery
and marking is delivered again on retry with the same Message-ID, which receivers
use to drop the copy: at-least-once at the SMTP boundary, once everywhere else.
The POC's all-syncs-done email and the completion email to the partner carry the
order's reconciliation report (R-POC-DONE, R-RECONCILE) as an HTML attachment.

The workflow gives only what the rule decided (names, records, counts); the rest of a
template's values come from the order as the store has it, read here when the email is
made (notify/context.py), and each email has a text and an HTML part (templates.py).
The copy kept in the outbox has the end user's personal codes replaced (links.py).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mailflip.domain.names import Template
from mailflip.errors import InvalidInput, NotYetDone
from mailflip.store.repositories import SqlStore

from .context import message_context
from .links import Links
from .report import html_report, order_report
from .templates import Rendered, render


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
    html: str = ""  # the HTML part, beside the text one

    @property
    def message_id(self) -> str:
        return f"<{hashlib.sha256(self.key.encode()).hexdigest()[:32]}@mailflip>"


Deliver = Callable[[Outgoing], Awaitable[None]]

# emails that carry the order's reconciliation report (R-POC-DONE: "with each mailbox's
# reconciliation"; R-RECONCILE: the completion email), read from the store when sent
REPORTED = (Template.POC_ALL_SYNCS_DONE, Template.PARTNER_MIGRATION_COMPLETE)


class OutboxNotifier:
    def __init__(self, store: SqlStore, deliver: Deliver, links: Links,
                 verify_minutes: int = 15) -> None:
        self.store, self.deliver, self.links = store, deliver, links
        self.verify_minutes = verify_minutes  # R-CTP-S4's poll, said in partner_dns_txt

    async def send(self, order_id: str, key: str, template: str, to: str,
                   context: dict[str, Any]) -> bool:
        try:
            order = await asyncio.to_thread(self.store.get_order, order_id)
        except InvalidInput:  # the order's first mirror write has not landed: retry
            raise NotYetDone(f"order {order_id} is not in the store yet") from None
        attachments: tuple[Attachment, ...] = ()
        if template in REPORTED:  # R-RECONCILE: the proof
            report = await asyncio.to_thread(order_report, self.store, order_id)
            context = {**context, "report": report["summary"]}
            attachments = (Attachment(f"reconciliation-{order_id}.html", "text/html",
                                      html_report(report).encode()),)
        links, hidden = await self.links.for_email(template, order_id, to)

        def made(values: dict[str, Any]) -> Rendered:
            return render(template, message_context(template, order, to, context, values,
                                                    self.verify_minutes))

        mail, kept = made(links), made(hidden)
        trigger = key.rsplit("|", 1)[-1]
        claimed = await asyncio.to_thread(self.store.claim_notification, key, order_id,
                                          template, to, trigger, kept.subject, kept.text)
        if not claimed and await self._sent(order_id, key):
            return False
        await self.deliver(Outgoing(key, to, mail.subject, mail.text, attachments, mail.html))
        await asyncio.to_thread(self.store.mark_notification_sent, key)
        return True

    async def _sent(self, order_id: str, key: str) -> bool:
        rows = await asyncio.to_thread(self.store.notifications, order_id)
        return any(r.key == key and r.state == "sent" for r in rows)
