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


@dataclass(frozen=True)
class PassWrite:
    """One write to the pass log: a running pass's progress, or a pass's end
    (`ended`: one more run of its kind). Checked when made, so that a batch of them
    (`put_passes`) cannot fail for one bad write."""

    order_id: str
    mailbox: str
    pass_name: str
    ended: bool
    values: dict[str, object]

    def __post_init__(self) -> None:
        for name in ("order_id", "mailbox", "pass_name"):
            require_text(name, getattr(self, name))

    @property
    def key(self) -> tuple[str, str, str]:
        return self.order_id, self.mailbox, self.pass_name


def progress_write(order_id: str, mailbox: str, pass_name: str, started: datetime,
                   at: datetime, progress: dict[str, int]) -> PassWrite:
    """A running pass's progress: messages and bytes copied of those to copy."""
    return PassWrite(order_id, mailbox, pass_name, False, dict(
        state="running", messages=progress.get("messages_copied", 0),
        bytes=progress.get("bytes_copied", 0), errors=0, ended_at=at, error="",
        started_at=started, messages_total=progress.get("messages_to_copy", 0),
        bytes_total=progress.get("bytes_to_copy", 0)))


def end_write(order_id: str, mailbox: str, pass_name: str, at: datetime, state: str,
              messages: int = 0, size: int = 0, errors: int = 0, error: str = "",
              started: datetime | None = None) -> PassWrite:
    """A pass of the mailbox ended: it replaces the last one of its kind (counted).
    `started`: when the pass was first scheduled, so that started_at to ended_at is
    its whole wall time, retries included."""
    return PassWrite(order_id, mailbox, pass_name, True, dict(
        state=state, messages=messages, bytes=size, errors=errors, ended_at=at,
        error=error[:2000], started_at=started, messages_total=messages, bytes_total=size))


class ReconciliationLog(StoreBase):
    def save_progress(self, order_id: str, mailbox: str, pass_name: str, started: datetime,
                      at: datetime, progress: dict[str, int]) -> None:
        self.put_passes([progress_write(order_id, mailbox, pass_name, started, at, progress)])

    def save_pass(self, order_id: str, mailbox: str, pass_name: str, at: datetime,
                  state: str, messages: int = 0, size: int = 0, errors: int = 0,
                  error: str = "", started: datetime | None = None) -> None:
        self.put_passes([end_write(order_id, mailbox, pass_name, at, state, messages, size,
                                   errors, error, started)])

    def put_passes(self, writes: list[PassWrite]) -> None:
        """Pass-log writes in one transaction, applied in their order (a later write of
        the same pass replaces an earlier one; every end counts a run): a worker with
        hundreds of passes ending at once writes them together, not a transaction
        each (SqlMirror batches them)."""
        if not writes:
            return
        t = SYNC_PASSES
        runs: dict[tuple[str, str, str], int] = {}  # runs so far, per pass of a mailbox
        rows: dict[tuple[str, str, str], dict[str, object]] = {}
        with self._write() as conn:
            for order_id in {w.order_id for w in writes}:
                mailboxes = {w.mailbox for w in writes if w.order_id == order_id}
                for mailbox, pass_name, n in conn.execute(
                        select(t.c.mailbox, t.c.pass_name, t.c.runs).where(
                            t.c.order_id == order_id, t.c.mailbox.in_(mailboxes))):
                    runs[(order_id, mailbox, pass_name)] = n or 0
            for w in writes:
                runs[w.key] = runs.get(w.key, 0) + (1 if w.ended else 0)
                rows[w.key] = {"order_id": w.order_id, "mailbox": w.mailbox,
                               "pass_name": w.pass_name, "runs": runs[w.key], **w.values}
            upsert(conn, SYNC_PASSES, list(rows.values()))

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
