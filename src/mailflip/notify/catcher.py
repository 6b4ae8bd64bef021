"""`mailflip sim smtp`: a local SMTP server (aiosmtpd) that keeps every message it is
given in a Maildir, for a person to read what an order sent (`mailflip sim smtp list`,
`... show ID`) and for tests to assert on. It accepts any sender and recipient and
relays nothing.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailflip.errors import InvalidInput


class _Keep:
    """aiosmtpd's handler: each DATA becomes one Maildir message, envelope recorded."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        header = (f"X-Mailflip-Envelope-From: {envelope.mail_from}\r\n"
                  f"X-Mailflip-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        mailbox.Maildir(self.maildir, create=True).add(header + data)
        return "250 Message accepted for delivery"


class SmtpCatcher:
    """The server on `host:port` in a thread of its own: `start()`, `stop()`."""

    def __init__(self, maildir: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
        from aiosmtpd.controller import Controller

        mailbox.Maildir(maildir, create=True)
        self.maildir = maildir
        self.address = (host, port)
        self._controller = Controller(_Keep(maildir), hostname=host, port=port)

    def start(self) -> SmtpCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


@dataclass(frozen=True)
class Caught:
    id: str
    date: str
    sender: str
    to: str
    subject: str
    message: EmailMessage


def caught(maildir: Path) -> list[Caught]:
    """Every message kept, oldest first."""
    if not maildir.is_dir():
        return []
    box = mailbox.Maildir(maildir, create=False)
    out = []
    for key in box.keys():
        delivered = box.get_message(key).get_date()  # the file's time, in new/ or cur/
        msg = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out.append((delivered, Caught(key, str(msg["Date"] or ""), str(msg["From"] or ""),
                                      str(msg["To"] or ""), str(msg["Subject"] or ""), msg)))
    return [c for _, c in sorted(out, key=lambda pair: (pair[0], pair[1].id))]


def one(maildir: Path, message_id: str) -> Caught:
    """The message whose Maildir id starts with `message_id` (a unique prefix will do)."""
    found = [c for c in caught(maildir) if c.id.startswith(message_id)]
    if len(found) != 1:
        raise InvalidInput("id", f"{message_id!r} matches {len(found)} messages "
                           f"in {maildir}" + (" (give more of it)" if found else ""))
    return found[0]
