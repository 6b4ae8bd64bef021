"""The customer's old mail host inside `mailflip up` and `mailflip demo`: a Dovecot of
mailflip's own (port 8143, mail in DATA_DIR/source) seeded on first start with
realistic mailboxes for the demo order's users, so that an order's passes move real
mail over IMAP into the local Microsoft 365's mailboxes (MAILFLIP_MAIL=order).

Every account logs in with one migration password (made once, kept owner-only in
DATA_DIR/source/password): the `{url, password}` form of an order's source credentials,
which `source_credentials()` gives and the banner names as a file for
`mailflip orders credentials ID --kind source --file DATA_DIR/source/source.yaml`."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import yaml

PORT = 8143
# the demo order's source addresses (stack/demo_order.py) and how many messages each has
DEMO_MAILBOXES = {"ann@contoso.example": 60, "bob@contoso.example": 45,
                  "info@contoso.example": 25}
FOLDERS = (("INBOX", 0.6), ("Sent", 0.25), ("Archive", 0.15))
PEOPLE = ("Chris Ode <chris@fabrikam.example>", "Dana Lutz <dana@northwind.example>",
          "Eli Park <eli@contoso.example>", "Fran Moss <fran@tailspin.example>")
TOPICS = ("Quarterly figures", "Site visit next week", "Invoice 2026-{n:04d}",
          "Re: contract renewal", "Holiday rota", "Printer on the 2nd floor",
          "Minutes of the team meeting", "Your order {n}", "Lunch on Friday?",
          "Updated price list")


@dataclass
class LocalSource:
    base: Path  # DATA_DIR/source
    port: int = PORT
    host: str = "127.0.0.1"
    mailboxes: dict[str, int] = field(default_factory=lambda: dict(DEMO_MAILBOXES))

    @property
    def url(self) -> str:
        return f"imap://{self.host}:{self.port}"

    @property
    def credentials_file(self) -> Path:
        return self.base / "source.yaml"

    def password(self) -> str:
        path = self.base / "password"
        if not path.exists():
            self.base.mkdir(parents=True, exist_ok=True)
            path.touch(0o600)
            path.write_text(secrets.token_urlsafe(18))
        return path.read_text().strip()

    def source_credentials(self) -> dict[str, str]:
        return {"url": self.url, "password": self.password()}

    @contextmanager
    def serving(self) -> Iterator[None]:
        from mailflip.localnet import ensure_free
        from mailflip.mail.dovecot import DovecotOptions, start_dovecot, stop_dovecot

        ensure_free(self.host, self.port, "mailflip up", "--source-port")
        server = start_dovecot(DovecotOptions(password=self.password(), auto_create=True),
                               self.base / "dovecot", self.port)
        try:
            self.credentials_file.touch(0o600)
            self.credentials_file.write_text(yaml.safe_dump(self.source_credentials()))
            self.seed()
            yield
        finally:
            stop_dovecot(server, remove=False)

    def seed(self) -> None:
        """Fill each demo mailbox once (a mailbox that has mail is left as it is)."""
        from imapclient import IMAPClient

        for address, count in self.mailboxes.items():
            with IMAPClient(self.host, self.port, ssl=False, timeout=30) as imap:
                imap.login(address, self.password())
                if imap.select_folder("INBOX")[b"EXISTS"]:
                    continue
                for folder, msg, when in demo_messages(address, count):
                    if not imap.folder_exists(folder):
                        imap.create_folder(folder)
                    imap.append(folder, msg, flags=(b"\\Seen",) if folder != "INBOX"
                                else (), msg_time=when)


def demo_messages(address: str, count: int, now: datetime | None = None
                  ) -> Iterator[tuple[str, bytes, datetime]]:
    """(folder, RFC 5322 bytes, date) of `count` plausible messages of `address`, the
    same on every call (seeded by the address)."""
    rng = random.Random(address)
    end = now or datetime(2026, 12, 1, 9, tzinfo=UTC)
    name = address.split("@")[0].title()
    for n in range(count):
        folder = rng.choices([f for f, _ in FOLDERS], [w for _, w in FOLDERS])[0]
        when = end - timedelta(days=rng.uniform(0, 365), minutes=rng.randrange(600))
        other = rng.choice(PEOPLE)
        msg = EmailMessage()
        msg["From"], msg["To"] = (f"{name} <{address}>", other) if folder == "Sent" \
            else (other, f"{name} <{address}>")
        msg["Subject"] = rng.choice(TOPICS).format(n=n + 1)
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = f"<demo-{n}-{rng.getrandbits(40):010x}@{address.split('@')[1]}>"
        paragraphs = rng.randint(1, 6)
        msg.set_content("\n\n".join(
            f"Paragraph {p + 1} of message {n + 1} for {name}: " + " ".join(
                rng.choice(("please", "see", "the", "attached", "figures", "by", "Friday",
                            "thanks", "regards", "meeting", "agenda", "budget"))
                for _ in range(rng.randint(20, 80))) for p in range(paragraphs)))
        if rng.random() < 0.15:
            msg.add_attachment(rng.randbytes(rng.randint(2_000, 60_000)),
                               maintype="application", subtype="pdf",
                               filename=f"document-{n + 1}.pdf")
        yield folder, msg.as_bytes(), when
