"""The reconciliation log (R-RECONCILE): each mailbox's result per post-cutover pass.

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
from .queries import RECONCILIATIONS, require_text


@dataclass(frozen=True)
class ReconciliationRow:
    order_id: str
    mailbox: str
    pass_name: str
    at: datetime
    result: Reconciliation


class ReconciliationLog(StoreBase):
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
