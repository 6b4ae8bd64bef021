"""The reconciliation log (R-RECONCILE): each mailbox's result per post-cutover pass;
and the pass log: how each mailbox's latest pass of each kind ended, what it moved.

Written by the mail worker's `run_sync_pass` activity (a retried activity writes the
same row again); read by `mailflip orders report` and the completion email. Kept after
the order completes: the credentials are purged, the proof of the copy is not."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from mailflip.domain.reconcile import Absent, Reconciliation

from .base import StoreBase
from .mirror import upsert
from .queries import RECONCILIATIONS, SYNC_PASSES, require_text


@dataclass(frozen=True)
class ReconciliationRow:
    order_id: str
    mailbox: str
    pass_name: str
    at: datetime
    result: Reconciliation


@dataclass(frozen=True)
class PassRow:
    order_id: str
    mailbox: str
    pass_name: str
    state: str  # completed | failed
    runs: int  # how many passes of this kind ended (sweeps repeat)
    messages: int
    bytes: int
    errors: int
    ended_at: datetime  # running: when its progress was last written
    error: str
    started_at: datetime | None = None
    messages_total: int = 0  # running: what this pass has to copy
    bytes_total: int = 0


class ReconciliationLog(StoreBase):
    def save_progress(self, order_id: str, mailbox: str, pass_name: str, started: datetime,
                      at: datetime, progress: dict[str, int]) -> None:
        """A running pass's progress: messages and bytes copied of those to copy."""
        self._put_pass(order_id, mailbox, pass_name, ended=False, state="running",
                       messages=progress.get("messages_copied", 0),
                       bytes=progress.get("bytes_copied", 0), errors=0, ended_at=at,
                       error="", started_at=started,
                       messages_total=progress.get("messages_to_copy", 0),
                       bytes_total=progress.get("bytes_to_copy", 0))

    def save_pass(self, order_id: str, mailbox: str, pass_name: str, at: datetime,
                  state: str, messages: int = 0, size: int = 0, errors: int = 0,
                  error: str = "", started: datetime | None = None) -> None:
        """A pass of the mailbox ended: it replaces the last one of its kind (counted).
        `started`: when the pass was first scheduled, so that started_at to ended_at is
        its whole wall time, retries included."""
        self._put_pass(order_id, mailbox, pass_name, ended=True, state=state,
                       messages=messages, bytes=size, errors=errors, ended_at=at,
                       error=error[:2000], started_at=started, messages_total=messages,
                       bytes_total=size)

    def _put_pass(self, order_id: str, mailbox: str, pass_name: str, ended: bool,
                  **values: object) -> None:
        """The mailbox's row for this kind of pass; `ended` counts one more run."""
        t = SYNC_PASSES
        with self._write() as conn:
            runs = conn.execute(select(t.c.runs).where(
                t.c.order_id == order_id, t.c.mailbox == mailbox,
                t.c.pass_name == pass_name)).scalar() or 0
            upsert(conn, SYNC_PASSES, [{
                "order_id": require_text("order_id", order_id),
                "mailbox": require_text("mailbox", mailbox),
                "pass_name": require_text("pass_name", pass_name),
                "runs": runs + 1 if ended else runs, **values}])

    def passes(self, order_id: str) -> list[PassRow]:
        t = SYNC_PASSES
        query = select(t).where(t.c.order_id == order_id).order_by(t.c.mailbox, t.c.ended_at)
        with self._read() as conn:
            return [PassRow(**r) for r in conn.execute(query).mappings()]

    def save_reconciliation(self, order_id: str, mailbox: str, pass_name: str, at: datetime,
                            rec: Reconciliation) -> None:
        row = {
            "order_id": require_text("order_id", order_id),
            "mailbox": require_text("mailbox", mailbox),
            "pass_name": require_text("pass_name", pass_name),
            "at": at,
            "grade": rec.grade.value,
            "source_messages": rec.source_messages,
            "source_bytes": rec.source_bytes,
            "present": rec.present,
            "skipped": [asdict(a) for a in rec.skipped],
            "missing": [asdict(a) for a in rec.missing],
        }
        with self._write() as conn:
            upsert(conn, RECONCILIATIONS, [row])

    def reconciliations(self, order_id: str) -> list[ReconciliationRow]:
        """Each mailbox's latest reconciliation, by mailbox."""
        t = RECONCILIATIONS
        query = select(t).where(t.c.order_id == order_id).order_by(t.c.mailbox, t.c.at)
        latest: dict[str, ReconciliationRow] = {}
        with self._read() as conn:
            for r in conn.execute(query).mappings():
                latest[r["mailbox"]] = ReconciliationRow(
                    r["order_id"], r["mailbox"], r["pass_name"], r["at"], Reconciliation(
                        r["source_messages"], r["source_bytes"], r["present"],
                        [Absent(**a) for a in r["skipped"]],
                        [Absent(**a) for a in r["missing"]]))
        return list(latest.values())
