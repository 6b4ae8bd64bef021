"""Test mail: generate messages, put them on a server, read back what a server holds."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from imapclient import IMAPClient

from tests.sync.dovecot import PASSWORD, Dovecot


@dataclass(frozen=True)
class Msg:
    body: bytes
    flags: tuple[str, ...] = ()
    date: datetime = datetime(2024, 3, 7, 9, 5, 3, tzinfo=UTC)

    @property
    def message_id(self) -> str | None:
        m = re.search(rb"(?im)^message-id:\s*(\S+)", self.body)
        return m.group(1).decode() if m else None


def make_msg(
    n: int,
    *,
    size: int = 600,
    message_id: str | None = "auto",
    flags: tuple[str, ...] = (),
    date: datetime | None = None,
    tag: str = "t",
) -> Msg:
    rng = random.Random(f"{tag}-{n}")
    headers = [
        f"From: Sender {n} <s{n}@example.com>",
        "To: rcpt@example.org",
        f"Subject: test message {n} {tag}",
        "Date: Thu, 07 Mar 2024 09:05:03 +0000",
    ]
    if message_id == "auto":
        headers.insert(0, f"Message-ID: <{tag}.{n}.{rng.getrandbits(32):08x}@example.com>")
    elif message_id:
        headers.insert(0, f"Message-ID: {message_id}")
    words = " ".join(
        rng.choice(["alpha", "beta", "gamma", "delta", "ünïcode", "日本"]) for _ in range(size // 6)
    )
    lines = [words[i : i + 70] for i in range(0, len(words), 70)]
    body = (
        "\r\n".join(headers + ["Content-Type: text/plain; charset=utf-8", ""] + lines) + "\r\n"
    ).encode()
    when = date or datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=n * 7, seconds=n)
    return Msg(body, flags, when)


def connect(server: Dovecot, user: str) -> IMAPClient:
    client = IMAPClient(server.host, server.port, ssl=False, timeout=30)
    client.login(user, PASSWORD)
    client.normalise_times = False
    return client


def put(server: Dovecot, user: str, folders: dict[str, list[Msg]]) -> None:
    """Create folders (unicode names; IMAPClient encodes mUTF-7) and APPEND messages."""
    with connect(server, user) as c:
        for folder, msgs in folders.items():
            if folder != "INBOX" and not c.folder_exists(folder):
                c.create_folder(folder)
            for m in msgs:
                c.append(folder, m.body, flags=m.flags, msg_time=m.date)


@dataclass
class FolderSnapshot:
    messages: list[tuple[bytes, frozenset[str], datetime]] = field(default_factory=list)
    uidvalidity: int = 0

    @property
    def ids(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for body, _, _ in self.messages:
            m = re.search(rb"(?im)^message-id:\s*(\S+)", body)
            out[m.group(1).decode() if m else f"<no-id {len(body)}>"] += 1
        return out


def snapshot(server: Dovecot, user: str, bodies: bool = True) -> dict[str, FolderSnapshot]:
    """Unicode folder name -> messages (body, flags without \\Recent, INTERNALDATE)."""
    out: dict[str, FolderSnapshot] = {}
    with connect(server, user) as c:
        for flags, _delim, name in c.list_folders():
            if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                continue
            info = c.select_folder(name, readonly=True)
            snap = FolderSnapshot(uidvalidity=int(info[b"UIDVALIDITY"]))
            item = b"BODY.PEEK[]" if bodies else b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
            uids = c.search("ALL") if info[b"EXISTS"] else []
            data = c.fetch(uids, [item, b"FLAGS", b"INTERNALDATE"]) if uids else {}
            for _uid, d in sorted(data.items()):
                body = next(v for k, v in d.items() if k.startswith(b"BODY["))
                flags = frozenset(f.decode() for f in d[b"FLAGS"]) - {"\\Recent"}
                snap.messages.append((body, flags, d[b"INTERNALDATE"]))
            out[name] = snap
    return out


def ids_by_folder(snap: dict[str, FolderSnapshot]) -> dict[str, Counter[str]]:
    return {name: s.ids for name, s in snap.items()}
