"""Deliver notifications over SMTP (stdlib smtplib in a thread): plain, STARTTLS or
implicit TLS (certificates checked, against `ca_file` when given), with a login when a
user is set. The password is kept out of every repr and message."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Literal

from .outbox import Outgoing

Security = Literal["none", "starttls", "tls"]


class SmtpDeliver:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 30.0, *,
                 security: Security = "none", user: str = "", password: str = "",
                 ca_file: Path | None = None) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.security, self.user, self._password = security, user, password
        self.ca_file = ca_file

    def __repr__(self) -> str:
        login = f", user {self.user}" if self.user else ""
        return f"SmtpDeliver({self.host}:{self.port}, {self.security}{login})"

    def message(self, out: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, out.to, out.subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = out.message_id  # the same on a redelivery: receivers dedupe
        msg.set_content(out.body)
        if out.html:
            msg.add_alternative(out.html, subtype="html")
        for a in out.attachments:
            maintype, subtype = a.mime_type.split("/", 1)
            msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
        return msg

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def _send(self, out: Outgoing) -> None:
        smtp = (smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                 context=self._tls()) if self.security == "tls"
                else smtplib.SMTP(self.host, self.port, timeout=self.timeout))
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=self._tls())
            if self.user:
                smtp.login(self.user, self._password)
            smtp.send_message(self.message(out))

    async def __call__(self, out: Outgoing) -> None:
        await asyncio.to_thread(self._send, out)
