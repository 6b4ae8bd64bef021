"""MaildirStore: a Maildir++ tree (Dovecot layout: INBOX at the root, `.A.B` subfolders,
mUTF-7 names). Reading never writes anything into the tree.

UIDs are derived from the stable unique part of each file name, so a source
Maildir needs no UID list written into it; UIDVALIDITY is always 1.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from mailflip.sync.endpoints import Endpoint
from mailflip.sync.stores.base import (
    AppendResult,
    FolderRef,
    FolderStatus,
    MessageMeta,
    OutgoingMessage,
    StoreRefused,
)
from mailflip.sync.stores.wire import parse_message_id, parse_subject

_LETTER_TO_FLAG = {
    "S": "\\Seen",
    "R": "\\Answered",
    "F": "\\Flagged",
    "D": "\\Draft",
    "T": "\\Deleted",
}
_FLAG_TO_LETTER = {v: k for k, v in _LETTER_TO_FLAG.items()}
_BARE_LF = re.compile(rb"(?<!\r)\n")
_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def uid_of(filename: str) -> int:
    unique = filename.split(":", 1)[0]
    return int.from_bytes(hashlib.sha1(unique.encode()).digest()[:7], "big") >> 1


def _flags_of(filename: str) -> frozenset[str]:
    _, _, info = filename.partition(":2,")
    return frozenset(_LETTER_TO_FLAG[c] for c in info if c in _LETTER_TO_FLAG)


def _crlf(data: bytes) -> bytes:
    return _BARE_LF.sub(b"\r\n", data)


class MaildirStore:
    delimiter = "."
    prefix = ""
    supports_condstore = False
    supports_uidplus = True

    def __init__(self, endpoint: Endpoint) -> None:
        self.root = Path(endpoint.path)
        self._dir: Path | None = None
        self._files: dict[int, Path] = {}
        self._order: list[int] | None = None  # UIDs of the selected folder, sorted

    def close(self) -> None:
        self._files = {}

    def _folder_dir(self, wire: str) -> Path:
        if wire.upper() == "INBOX":
            return self.root
        if "/" in wire or wire.startswith(".") or wire in ("", ".."):
            raise StoreRefused(f"folder name {wire!r} cannot be a Maildir++ folder")
        return self.root / f".{wire}"

    def list_folders(self) -> list[FolderRef]:
        if not (self.root / "cur").is_dir():
            return []
        refs = [FolderRef("INBOX", ".", frozenset())]
        for entry in sorted(os.listdir(self.root)):
            if (
                entry.startswith(".")
                and entry not in (".", "..")
                and (self.root / entry / "cur").is_dir()
            ):
                refs.append(FolderRef(entry[1:], ".", frozenset()))
        return refs

    def create_folder(self, wire: str) -> None:
        path = self._folder_dir(wire)
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        if path != self.root:
            (path / "maildirfolder").touch()

    def status(self, wire: str) -> FolderStatus:
        path = self._folder_dir(wire)
        try:
            names = os.listdir(path / "cur") + os.listdir(path / "new")
            # Any delivery or flag change renames a file and bumps a directory mtime.
            stamp = max((path / "cur").stat().st_mtime_ns, (path / "new").stat().st_mtime_ns)
        except FileNotFoundError as exc:
            raise StoreRefused(f"no such Maildir folder {wire!r}") from exc
        return FolderStatus(uidvalidity=1, uidnext=0, messages=len(names), highestmodseq=stamp)

    def select(self, wire: str, readonly: bool) -> tuple[int, frozenset[str] | None]:
        path = self._folder_dir(wire)
        if not (path / "cur").is_dir():
            raise StoreRefused(f"no such Maildir folder {wire!r}")
        self._dir = path
        self._files = {}
        self._order = None
        for sub in ("cur", "new"):
            for name in os.listdir(path / sub):
                if not name.startswith("."):
                    self._files[uid_of(name)] = path / sub / name
        return 1, frozenset(_FLAG_TO_LETTER)

    def uid_at(self, seq: int) -> int | None:
        if self._order is None:
            self._order = sorted(self._files)
        return self._order[seq - 1] if 0 < seq <= len(self._order) else None

    def fetch_flags(self, lo: int = 1, hi: int | None = None) -> dict[int, frozenset[str]]:
        return {
            uid: _flags_of(p.name)
            for uid, p in self._files.items()
            if uid >= lo and (hi is None or uid <= hi)
        }

    def fetch_meta(self, uids: Iterable[int] | str) -> list[MessageMeta]:
        wanted = self._files.keys() if isinstance(uids, str) else uids
        out = []
        for uid in wanted:
            path = self._files.get(uid)
            if path is None:
                continue
            try:
                data = _crlf(path.read_bytes())
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue  # flag change renamed it or it was deleted meanwhile
            head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
            out.append(
                MessageMeta(
                    uid,
                    len(data),
                    datetime.fromtimestamp(mtime, UTC),
                    _flags_of(path.name),
                    parse_message_id(head),
                )
            )
        return out

    def fetch_subjects(self, uids: list[int]) -> dict[int, str]:
        bodies = self.fetch_bodies(uids)
        return {uid: parse_subject(body.split(b"\r\n\r\n", 1)[0] + b"\r\n")
                for uid, body in bodies.items()}

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        out = {}
        for uid in uids:
            path = self._files.get(uid)
            try:
                out[uid] = _crlf(path.read_bytes()) if path else None
            except FileNotFoundError:
                continue
        return {k: v for k, v in out.items() if v is not None}

    def append(self, wire: str, messages: list[OutgoingMessage]) -> AppendResult:
        path = self._folder_dir(wire)
        if not (path / "cur").is_dir():
            raise StoreRefused(f"no such Maildir folder {wire!r}")
        uids = []
        for message in messages:
            with _counter_lock:
                n = next(_counter)
            unique = f"{int(time.time())}.M{n}P{os.getpid()}.{socket.gethostname()}"
            letters = "".join(
                sorted(_FLAG_TO_LETTER[f] for f in message.flags if f in _FLAG_TO_LETTER)
            )
            tmp = path / "tmp" / unique
            with open(tmp, "wb") as fh:
                fh.write(message.body)
            if message.internaldate:
                stamp = message.internaldate.timestamp()
                os.utime(tmp, (stamp, stamp))
            os.rename(tmp, path / "cur" / f"{unique}:2,{letters}")
            uids.append(uid_of(unique))
        return AppendResult(1, uids)

    def store_flags(self, uids: list[int], flags: frozenset[str], add: bool) -> None:
        for uid in uids:
            path = self._files.get(uid)
            if path is None:
                continue
            current = _flags_of(path.name)
            new = current | flags if add else current - flags
            letters = "".join(sorted(_FLAG_TO_LETTER[f] for f in new if f in _FLAG_TO_LETTER))
            target = path.parent.parent / "cur" / f"{path.name.split(':', 1)[0]}:2,{letters}"
            if target != path:
                os.rename(path, target)
                self._files[uid] = target
