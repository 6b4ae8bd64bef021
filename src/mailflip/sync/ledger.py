"""The ledger: which source message is which target message, crash-safe.

Primary key of a message is (source folder, UIDVALIDITY, UID). A row is
written as an *intent* (committed) before the APPEND and flipped to *done*
with the target UID after it. Rows left as intents after a crash are resolved
on the next pass by looking at the target (see recover.py).

Built on SQLAlchemy Core: `Ledger.open(dir)` uses SQLite in the state dir;
`Ledger(engine, mailbox=...)` runs on any SQLAlchemy engine (e.g. PostgreSQL),
several mailboxes sharing one database by `mailbox` key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Row,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from mailflip.sync.ledger_schema import (
    DONE,
    GONE,
    INTENT,
    Entry,
    FolderRow,
    folders,
    indexes,
    messages,
    metadata,
    pass_marks,
    passes,
    skips,
)

__all__ = ["DONE", "GONE", "INTENT", "Entry", "FolderRow", "Ledger"]


def _flags_text(flags: Iterable[str]) -> str:
    return " ".join(sorted(flags))


def _row(entry: Entry, mailbox: str) -> dict[str, object]:
    return {
        "mailbox": mailbox,
        "src_folder": entry.src_folder,
        "src_uidvalidity": entry.src_uidvalidity,
        "src_uid": entry.src_uid,
        "message_id": entry.message_id,
        "size": entry.size,
        "content_hash": entry.content_hash,
        "flags": _flags_text(entry.flags),
        "tgt_folder": entry.tgt_folder,
        "tgt_uidvalidity": entry.tgt_uidvalidity,
        "tgt_uid": entry.tgt_uid,
        "tgt_floor": entry.tgt_floor,
        "state": entry.state,
    }


class Ledger:
    def __init__(self, engine: Engine, mailbox: str = "default") -> None:
        self._engine = engine
        self.mailbox = mailbox
        self._write = threading.Lock()  # SQLite has one writer; keep workers from fighting for it
        metadata.create_all(engine)
        for index in indexes:  # create_all adds indexes only with a new table
            index.create(engine, checkfirst=True)

    @classmethod
    def open(cls, state_dir: str | Path, mailbox: str = "default") -> Ledger:
        path = Path(state_dir)
        path.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{path / 'ledger.sqlite'}", connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            # WAL + NORMAL survives a killed process (not a power cut): enough for kill -9.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return cls(engine, mailbox)

    def close(self) -> None:
        self._engine.dispose()

    # folders -------------------------------------------------------------
    def folder_rows(self) -> dict[str, FolderRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(folders).where(folders.c.mailbox == self.mailbox))
            return {
                r.src_folder: FolderRow(
                    r.src_folder,
                    r.tgt_folder,
                    r.src_uidvalidity,
                    r.src_uidnext,
                    r.src_modseq,
                    r.tgt_uidvalidity,
                )
                for r in rows
            }

    def save_folder(self, row: FolderRow) -> None:
        values = {
            "tgt_folder": row.tgt_folder,
            "src_uidvalidity": row.src_uidvalidity,
            "src_uidnext": row.src_uidnext,
            "src_modseq": row.src_modseq,
            "tgt_uidvalidity": row.tgt_uidvalidity,
        }
        key = and_(folders.c.mailbox == self.mailbox, folders.c.src_folder == row.src_folder)
        with self._write, self._engine.begin() as conn:
            if conn.execute(update(folders).where(key).values(**values)).rowcount == 0:
                conn.execute(
                    insert(folders).values(
                        mailbox=self.mailbox, src_folder=row.src_folder, **values
                    )
                )

    # messages ------------------------------------------------------------
    def entries(self, src_folder: str) -> list[Entry]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(messages).where(
                    messages.c.mailbox == self.mailbox, messages.c.src_folder == src_folder
                )
            )
            return [self._entry(r) for r in rows]

    def entries_between(
        self, src_folder: str, src_uidvalidity: int, lo: int, hi: int | None
    ) -> list[Entry]:
        """Rows of one UID window (lo <= src UID <= hi, None: no bound): an index range scan."""
        q = select(messages).where(
            messages.c.mailbox == self.mailbox,
            messages.c.src_folder == src_folder,
            messages.c.src_uidvalidity == src_uidvalidity,
            messages.c.src_uid >= lo,
        )
        if hi is not None:
            q = q.where(messages.c.src_uid <= hi)
        with self._engine.connect() as conn:
            return [self._entry(r) for r in conn.execute(q)]

    def has_intents(self, src_folder: str) -> bool:
        return self._exists(messages.c.src_folder == src_folder, messages.c.state == INTENT)

    def has_stale(self, src_folder: str, src_uidvalidity: int) -> bool:
        """Rows keyed by another source UIDVALIDITY that still await re-matching."""
        return self._exists(
            messages.c.src_folder == src_folder,
            messages.c.src_uidvalidity != src_uidvalidity,
            messages.c.state != GONE,
        )

    def _exists(self, *where: ColumnElement[bool]) -> bool:
        q = select(messages.c.id).where(messages.c.mailbox == self.mailbox, *where).limit(1)
        with self._engine.connect() as conn:
            return conn.execute(q).first() is not None

    def target_uids(
        self, tgt_folder: str, tgt_uidvalidity: int | None, min_uid: int = 1
    ) -> set[int]:
        """Target UIDs >= min_uid already owned by a confirmed row (never matched twice)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.tgt_uid).where(
                    messages.c.mailbox == self.mailbox,
                    messages.c.tgt_folder == tgt_folder,
                    messages.c.state != INTENT,
                    messages.c.tgt_uidvalidity == tgt_uidvalidity,
                    messages.c.tgt_uid >= min_uid,
                )
            )
            return {r[0] for r in rows if r[0] is not None}

    def entries_for_target(self, tgt_folder: str) -> list[Entry]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(messages).where(
                    messages.c.mailbox == self.mailbox, messages.c.tgt_folder == tgt_folder
                )
            )
            return [self._entry(r) for r in rows]

    def record_intents(self, entries: list[Entry]) -> None:
        """Durably note "about to APPEND these" (one transaction)."""
        if entries:
            with self._write, self._engine.begin() as conn:
                conn.execute(insert(messages), [_row(e, self.mailbox) for e in entries])

    def confirm(self, entries: list[Entry]) -> None:
        """Mark rows done with their target UID (None = copied, UID unknown)."""
        if not entries:
            return
        stmt = (
            update(messages)
            .where(
                messages.c.mailbox == bindparam("b_mailbox"),
                messages.c.src_folder == bindparam("b_folder"),
                messages.c.src_uidvalidity == bindparam("b_uv"),
                messages.c.src_uid == bindparam("b_uid"),
            )
            .values(
                state=DONE,
                tgt_uid=bindparam("b_tuid"),
                tgt_uidvalidity=bindparam("b_tuv"),
                flags=bindparam("b_flags"),
            )
        )
        params = [
            {
                "b_mailbox": self.mailbox,
                "b_folder": e.src_folder,
                "b_uv": e.src_uidvalidity,
                "b_uid": e.src_uid,
                "b_tuid": e.tgt_uid,
                "b_tuv": e.tgt_uidvalidity,
                "b_flags": _flags_text(e.flags),
            }
            for e in entries
        ]
        with self._write, self._engine.begin() as conn:
            conn.execute(stmt, params)

    def drop(self, entries: list[Entry]) -> None:
        """Forget intents that never reached the target (they will be copied again)."""
        if not entries:
            return
        stmt = delete(messages).where(
            messages.c.mailbox == self.mailbox,
            messages.c.src_folder == bindparam("b_folder"),
            messages.c.src_uidvalidity == bindparam("b_uv"),
            messages.c.src_uid == bindparam("b_uid"),
            messages.c.state == INTENT,
        )
        with self._write, self._engine.begin() as conn:
            conn.execute(
                stmt,
                [
                    {"b_folder": e.src_folder, "b_uv": e.src_uidvalidity, "b_uid": e.src_uid}
                    for e in entries
                ],
            )

    def forget(self, entries: list[Entry]) -> None:
        """Delete rows whose target copy is gone (the message is copied again)."""
        if entries:
            self.rekey([(e, e) for e in entries], reinsert=False)

    def rekey(self, pairs: list[tuple[Entry, Entry]], reinsert: bool = True) -> None:
        """Replace rows (old key -> new values) after a UIDVALIDITY change."""
        if not pairs:
            return
        with self._write, self._engine.begin() as conn:
            conn.execute(
                delete(messages).where(
                    messages.c.mailbox == self.mailbox,
                    messages.c.src_folder == bindparam("b_folder"),
                    messages.c.src_uidvalidity == bindparam("b_uv"),
                    messages.c.src_uid == bindparam("b_uid"),
                ),
                [
                    {"b_folder": o.src_folder, "b_uv": o.src_uidvalidity, "b_uid": o.src_uid}
                    for o, _ in pairs
                ],
            )
            if reinsert:
                conn.execute(insert(messages), [_row(new, self.mailbox) for _, new in pairs])

    def set_flags(self, entries: list[Entry]) -> None:
        """Store new flags (and possibly a re-matched target UID) on done rows."""
        self.confirm(entries)

    def mark_gone(self, entries: list[Entry]) -> None:
        """Rows whose message is no longer at the source (after a UIDVALIDITY change)."""
        self.rekey([(e, replace(e, state=GONE)) for e in entries])

    def done_totals(self, src_folder: str, src_uidvalidity: int, below_uid: int) -> tuple[int, int]:
        """(messages, bytes) of the folder's done rows with source UID < below_uid."""
        q = select(func.count(), func.coalesce(func.sum(messages.c.size), 0)).where(
            messages.c.mailbox == self.mailbox, messages.c.src_folder == src_folder,
            messages.c.src_uidvalidity == src_uidvalidity, messages.c.src_uid < below_uid,
            messages.c.state == DONE)
        with self._engine.connect() as conn:
            count, size = conn.execute(q).one()
        return int(count), int(size)

    def record_skip(self, src_folder: str, src_uidvalidity: int, src_uid: int, reason: str) -> None:
        """The target refused this message (or it is over the pass's size limit): why."""
        key = {"mailbox": self.mailbox, "src_folder": src_folder,
               "src_uidvalidity": src_uidvalidity, "src_uid": src_uid}
        with self._write, self._engine.begin() as conn:
            conn.execute(delete(skips).where(*(skips.c[k] == v for k, v in key.items())))
            conn.execute(insert(skips).values(**key, reason=reason))

    def skip_reasons(self, src_folder: str, src_uidvalidity: int) -> dict[int, str]:
        """Source UID -> why the target does not have it, for one folder."""
        q = select(skips.c.src_uid, skips.c.reason).where(
            skips.c.mailbox == self.mailbox, skips.c.src_folder == src_folder,
            skips.c.src_uidvalidity == src_uidvalidity)
        with self._engine.connect() as conn:
            return {int(r[0]): r[1] for r in conn.execute(q)}

    def record_pass(self, name: str, report: dict[str, object]) -> None:
        with self._write, self._engine.begin() as conn:
            conn.execute(
                insert(passes).values(
                    mailbox=self.mailbox, name=name, report=json.dumps(report, default=str)
                )
            )

    def mark_pass(self, name: str, resumed: bool) -> tuple[int, int]:
        """A pass begins (resumed: a later attempt of the same pass): (messages, bytes)
        its earlier attempts copied, from where its first attempt began. Row ids only
        grow and a copy writes new rows, so the pass's copies are its done rows past
        the mark (rows re-keyed after a UIDVALIDITY change would count too)."""
        key = (pass_marks.c.mailbox == self.mailbox, pass_marks.c.name == name)
        with self._write, self._engine.begin() as conn:
            top = int(conn.execute(select(func.coalesce(func.max(messages.c.id), 0))
                                   .where(messages.c.mailbox == self.mailbox)).scalar_one())
            base = conn.execute(select(pass_marks.c.base_id).where(*key)).scalar()
            if resumed and base is not None:
                count, size = conn.execute(
                    select(func.count(), func.coalesce(func.sum(messages.c.size), 0)).where(
                        messages.c.mailbox == self.mailbox, messages.c.state == DONE,
                        messages.c.id > base, messages.c.id <= top)).one()
                return int(count), int(size)
            conn.execute(delete(pass_marks).where(*key))
            conn.execute(insert(pass_marks).values(mailbox=self.mailbox, name=name,
                                                   base_id=top))
        return 0, 0

    def count(self, state: str | None = None) -> int:
        q = select(func.count()).select_from(messages).where(messages.c.mailbox == self.mailbox)
        if state:
            q = q.where(messages.c.state == state)
        with self._engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    @staticmethod
    def _entry(r: Row[*tuple[Any, ...]]) -> Entry:
        return Entry(
            src_folder=r.src_folder,
            src_uidvalidity=r.src_uidvalidity,
            src_uid=r.src_uid,
            message_id=r.message_id,
            size=r.size,
            content_hash=r.content_hash,
            flags=frozenset(r.flags.split()) if r.flags else frozenset(),
            tgt_folder=r.tgt_folder,
            tgt_uidvalidity=r.tgt_uidvalidity,
            tgt_uid=r.tgt_uid,
            tgt_floor=r.tgt_floor,
            state=r.state,
        )
