"""Deliver notifications over SMTP (stdlib smtplib in a thread)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from .outbox import Outgoing


class SmtpDeliver:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 30.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def message(self, out: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, out.to, out.subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = out.message_id  # the same on a redelivery: receivers dedupe
        msg.set_content(out.body)
        for a in out.attachments:
            maintype, subtype = a.mime_type.split("/", 1)
            msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
        return msg

    def _send(self, out: Outgoing) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(self.message(out))

    async def __call__(self, out: Outgoing) -> None:
        await asyncio.to_thread(self._send, out)
