"""The ledger: which source message is which target message, crash-safe.

Primary key of a message is (source folder, UIDVALIDITY, UID). A row is
written as an *intent* (committed) before the APPEND and flipped to *done*
with the target UID after it. Rows left as intents after a crash are resolved
on the next pass by looking at the target (see recover.py).

One SQLite file per state dir (`Ledger.open(dir)`), on the stdlib's sqlite3: a pass
writes a batch per APPEND and a resync reads whole UID windows, and SQLAlchemy's
import (~0.2 s) and per-statement compilation were a large part of both
(bench/README.md). Several mailboxes may share one file, kept apart by `mailbox`.
The copy workers share one connection, one statement or transaction at a time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from mailflip.sync.ledger_schema import (
    DONE,
    ENTRY_COLUMNS,
    GONE,
    INTENT,
    SCHEMA,
    Entry,
    FolderRow,
)

__all__ = ["DONE", "GONE", "INTENT", "Entry", "FolderRow", "Ledger"]

_KEY = "mailbox = ? AND src_folder = ? AND src_uidvalidity = ? AND src_uid = ?"
_INSERT = (
    "INSERT INTO sync_messages (mailbox, src_folder, src_uidvalidity, src_uid, message_id, "
    "size, content_hash, flags, tgt_folder, tgt_uidvalidity, tgt_uid, tgt_floor, state) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = f"SELECT {ENTRY_COLUMNS} FROM sync_messages WHERE mailbox = ?"


def _flags_text(flags: Iterable[str]) -> str:
    return " ".join(sorted(flags))


def _row(entry: Entry, mailbox: str) -> tuple[object, ...]:
    return (
        mailbox, entry.src_folder, entry.src_uidvalidity, entry.src_uid, entry.message_id,
        entry.size, entry.content_hash, _flags_text(entry.flags), entry.tgt_folder,
        entry.tgt_uidvalidity, entry.tgt_uid, entry.tgt_floor, entry.state,
    )


def _entry(r: Sequence[Any]) -> Entry:
    (folder, uv, uid, message_id, size, flags, tgt_folder, state, content_hash, tgt_uv,
     tgt_uid, tgt_floor) = r
    return Entry(folder, uv, uid, message_id, size,
                 frozenset(flags.split()) if flags else frozenset(), tgt_folder, state,
                 content_hash, tgt_uv, tgt_uid, tgt_floor)


class Ledger:
    def __init__(self, path: str | Path, mailbox: str = "default") -> None:
        self.mailbox = mailbox
        self._lock = threading.RLock()  # one connection: one statement or transaction at a time
        # autocommit mode; writes open their own transaction (_tx)
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None,
                                   check_same_thread=False)
        # WAL + NORMAL survives a killed process (not a power cut): enough for kill -9.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    @classmethod
    def open(cls, state_dir: str | Path, mailbox: str = "default") -> Ledger:
        path = Path(state_dir)
        path.mkdir(parents=True, exist_ok=True)
        return cls(path / "ledger.sqlite", mailbox)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, params: Sequence[object]) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[object]) -> Any:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    # folders -------------------------------------------------------------
    def folder_rows(self) -> dict[str, FolderRow]:
        rows = self._all(
            "SELECT src_folder, tgt_folder, src_uidvalidity, src_uidnext, src_modseq, "
            "tgt_uidvalidity FROM sync_folders WHERE mailbox = ?", (self.mailbox,))
        return {r[0]: FolderRow(*r) for r in rows}

    def save_folder(self, row: FolderRow) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO sync_folders (mailbox, src_folder, tgt_folder, src_uidvalidity, "
                "src_uidnext, src_modseq, tgt_uidvalidity) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (mailbox, src_folder) DO UPDATE SET tgt_folder = "
                "excluded.tgt_folder, src_uidvalidity = excluded.src_uidvalidity, "
                "src_uidnext = excluded.src_uidnext, src_modseq = excluded.src_modseq, "
                "tgt_uidvalidity = excluded.tgt_uidvalidity",
                (self.mailbox, row.src_folder, row.tgt_folder, row.src_uidvalidity,
                 row.src_uidnext, row.src_modseq, row.tgt_uidvalidity))

    # messages ------------------------------------------------------------
    def entries(self, src_folder: str) -> list[Entry]:
        rows = self._all(f"{_SELECT} AND src_folder = ?",
                         (self.mailbox, src_folder))
        return [_entry(r) for r in rows]

    def entries_between(
        self, src_folder: str, src_uidvalidity: int, lo: int, hi: int | None
    ) -> list[Entry]:
        """Rows of one UID window (lo <= src UID <= hi, None: no bound): an index range scan."""
        sql = f"{_SELECT} AND src_folder = ? AND src_uidvalidity = ? AND src_uid >= ?"
        params: list[object] = [self.mailbox, src_folder, src_uidvalidity, lo]
        if hi is not None:
            sql += " AND src_uid <= ?"
            params.append(hi)
        return [_entry(r) for r in self._all(sql, params)]

    def has_intents(self, src_folder: str) -> bool:
        return self._one(
            "SELECT 1 FROM sync_messages WHERE mailbox = ? AND src_folder = ? AND state = ? "
            "LIMIT 1", (self.mailbox, src_folder, INTENT)) is not None

    def has_stale(self, src_folder: str, src_uidvalidity: int) -> bool:
        """Rows keyed by another source UIDVALIDITY that still await re-matching."""
        return self._one(
            "SELECT 1 FROM sync_messages WHERE mailbox = ? AND src_folder = ? AND "
            "src_uidvalidity != ? AND state != ? LIMIT 1",
            (self.mailbox, src_folder, src_uidvalidity, GONE)) is not None

    def target_uids(
        self, tgt_folder: str, tgt_uidvalidity: int | None, min_uid: int = 1
    ) -> set[int]:
        """Target UIDs >= min_uid already owned by a confirmed row (never matched twice)."""
        rows = self._all(
            "SELECT tgt_uid FROM sync_messages WHERE mailbox = ? AND tgt_folder = ? AND "
            "state != ? AND tgt_uidvalidity = ? AND tgt_uid >= ?",
            (self.mailbox, tgt_folder, INTENT, tgt_uidvalidity, min_uid))
        return {r[0] for r in rows if r[0] is not None}

    def entries_for_target(self, tgt_folder: str) -> list[Entry]:
        rows = self._all(f"{_SELECT} AND tgt_folder = ?",
                         (self.mailbox, tgt_folder))
        return [_entry(r) for r in rows]

    def record_intents(self, entries: list[Entry]) -> None:
        """Durably note "about to APPEND these" (one transaction)."""
        if entries:
            with self._tx() as db:
                db.executemany(_INSERT, [_row(e, self.mailbox) for e in entries])

    def confirm(self, entries: list[Entry]) -> None:
        """Mark rows done with their target UID (None = copied, UID unknown)."""
        if not entries:
            return
        params = [
            (DONE, e.tgt_uid, e.tgt_uidvalidity, _flags_text(e.flags), self.mailbox,
             e.src_folder, e.src_uidvalidity, e.src_uid)
            for e in entries
        ]
        with self._tx() as db:
            db.executemany(
                "UPDATE sync_messages SET state = ?, tgt_uid = ?, tgt_uidvalidity = ?, "
                f"flags = ? WHERE {_KEY}", params)

    def drop(self, entries: list[Entry]) -> None:
        """Forget intents that never reached the target (they will be copied again)."""
        if not entries:
            return
        with self._tx() as db:
            db.executemany(
                f"DELETE FROM sync_messages WHERE {_KEY} AND state = ?",
                [(self.mailbox, e.src_folder, e.src_uidvalidity, e.src_uid, INTENT)
                 for e in entries])

    def forget(self, entries: list[Entry]) -> None:
        """Delete rows whose target copy is gone (the message is copied again)."""
        if entries:
            self.rekey([(e, e) for e in entries], reinsert=False)

    def rekey(self, pairs: list[tuple[Entry, Entry]], reinsert: bool = True) -> None:
        """Replace rows (old key -> new values) after a UIDVALIDITY change."""
        if not pairs:
            return
        with self._tx() as db:
            db.executemany(
                f"DELETE FROM sync_messages WHERE {_KEY}",
                [(self.mailbox, o.src_folder, o.src_uidvalidity, o.src_uid) for o, _ in pairs])
            if reinsert:
                db.executemany(_INSERT, [_row(new, self.mailbox) for _, new in pairs])

    def set_flags(self, entries: list[Entry]) -> None:
        """Store new flags (and possibly a re-matched target UID) on done rows."""
        self.confirm(entries)

    def mark_gone(self, entries: list[Entry]) -> None:
        """Rows whose message is no longer at the source (after a UIDVALIDITY change)."""
        self.rekey([(e, replace(e, state=GONE)) for e in entries])

    def done_totals(self, src_folder: str, src_uidvalidity: int, below_uid: int) -> tuple[int, int]:
        """(messages, bytes) of the folder's done rows with source UID < below_uid."""
        count, size = self._one(
            "SELECT count(*), coalesce(sum(size), 0) FROM sync_messages WHERE mailbox = ? AND "
            "src_folder = ? AND src_uidvalidity = ? AND src_uid < ? AND state = ?",
            (self.mailbox, src_folder, src_uidvalidity, below_uid, DONE))
        return int(count), int(size)

    def record_skip(self, src_folder: str, src_uidvalidity: int, src_uid: int, reason: str) -> None:
        """The target refused this message (or it is over the pass's size limit): why."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO sync_skips (mailbox, src_folder, src_uidvalidity, "
                "src_uid, reason) VALUES (?, ?, ?, ?, ?)",
                (self.mailbox, src_folder, src_uidvalidity, src_uid, reason))

    def skip_reasons(self, src_folder: str, src_uidvalidity: int) -> dict[int, str]:
        """Source UID -> why the target does not have it, for one folder."""
        rows = self._all(
            "SELECT src_uid, reason FROM sync_skips WHERE mailbox = ? AND src_folder = ? AND "
            "src_uidvalidity = ?", (self.mailbox, src_folder, src_uidvalidity))
        return {int(r[0]): r[1] for r in rows}

    def record_pass(self, name: str, report: dict[str, object]) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO sync_passes (mailbox, name, report) VALUES (?, ?, ?)",
                       (self.mailbox, name, json.dumps(report, default=str)))

    def mark_pass(self, name: str, resumed: bool) -> tuple[int, int]:
        """A pass begins (resumed: a later attempt of the same pass): (messages, bytes)
        its earlier attempts copied, from where its first attempt began. Row ids only
        grow and a copy writes new rows, so the pass's copies are its done rows past
        the mark (rows re-keyed after a UIDVALIDITY change would count too)."""
        with self._tx() as db:
            top = int(db.execute(
                "SELECT coalesce(max(id), 0) FROM sync_messages WHERE mailbox = ?",
                (self.mailbox,)).fetchone()[0])
            base = db.execute(
                "SELECT base_id FROM sync_pass_marks WHERE mailbox = ? AND name = ?",
                (self.mailbox, name)).fetchone()
            if resumed and base is not None:
                count, size = db.execute(
                    "SELECT count(*), coalesce(sum(size), 0) FROM sync_messages WHERE "
                    "mailbox = ? AND state = ? AND id > ? AND id <= ?",
                    (self.mailbox, DONE, base[0], top)).fetchone()
                return int(count), int(size)
            db.execute(
                "INSERT OR REPLACE INTO sync_pass_marks (mailbox, name, base_id) "
                "VALUES (?, ?, ?)", (self.mailbox, name, top))
        return 0, 0

    def count(self, state: str | None = None) -> int:
        sql, params = "SELECT count(*) FROM sync_messages WHERE mailbox = ?", [self.mailbox]
        if state:
            sql += " AND state = ?"
            params.append(state)
        return int(self._one(sql, params)[0])
