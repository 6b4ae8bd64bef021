"""SqlStore: the portal's view of orders, the notification outbox and credentials.

Workflows own the truth; `record()` mirrors an order's state here (one transaction,
a constant number of statements however many mailboxes) and timeline events are
inserted idempotently on (order_id, source, seq), so retried activities write nothing
twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from mailflip.errors import InvalidInput

from ..domain.model import CtpRun, Domain, OrderState, Task
from ..domain.names import CtpState, Status
from ..domain.timeline import TimelineEvent
from .agents import AgentRegistry
from .base import Clock, utcnow
from .crypto import CredentialCipher
from .engine import make_engine
from .mfa import MfaBook
from .migrate import migrate
from .mirror import insert_absent, mirror_children, upsert
from .outbox import NotificationOutbox
from .queries import (
    ALERTS,
    CTP_RUNS,
    DOMAIN_TXT,
    DOMAINS,
    EVENTS,
    MAILBOXES,
    ORDERS,
    SYNC_PASSES,
    TASKS,
    alert_row,
    mailbox_row,
    order_row,
)
from .reconciliations import ReconciliationLog
from .rows import AlertRow, MailboxRow, OrderRow
from .snapshot import event_rows, require_order_id, snapshot_rows
from .vault import CredentialVault

MAX_PAGE = 500


class SqlStore(NotificationOutbox, CredentialVault, ReconciliationLog, AgentRegistry,
               MfaBook):
    """The store's one entry point (built by `create_store`)."""

    def record(self, state: OrderState, events: list[TimelineEvent]) -> None:
        """Mirror `state` and add `events` (those already stored are skipped)."""
        snap = snapshot_rows(state, self._clock())
        new_events = event_rows(state.order_id, events)
        order_id = snap.order["id"]
        with self._write() as conn:
            upsert(conn, ORDERS, [snap.order])
            # The workflow sends only mailboxes that changed (history size); a removed
            # user is a mailbox marked `removed`, never an absent one.
            mirror_children(conn, MAILBOXES, order_id, "address", snap.mailboxes, prune=False)
            mirror_children(conn, DOMAINS, order_id, "name", snap.domains)
            mirror_children(conn, CTP_RUNS, order_id, "name", snap.ctp_runs)
            mirror_children(conn, TASKS, order_id, "task_id", snap.tasks)
            mirror_children(conn, ALERTS, order_id, "idx", snap.alerts)
            insert_absent(conn, EVENTS, new_events, ("order_id", "source", "seq"))

    def open_orders(self) -> list[str]:
        """Ids of the orders neither completed nor cancelled (the watchdog's round)."""
        query = select(ORDERS.c.id).where(~ORDERS.c.completed, ~ORDERS.c.cancelled)
        with self._read() as conn:
            return sorted(r[0] for r in conn.execute(query))

    def add_alert(self, order_id: str, code: str, severity: str, at: Any, detail: str) -> bool:
        """An alert raised from outside the order's workflow (the watchdog: the workflow
        may be unable to run). Once per (code, detail); True if added. The workflow's
        next mirror write puts its own list back, with the same alert once it got it."""
        with self._write() as conn:
            self._require_order(conn, order_id)
            rows = conn.execute(select(ALERTS.c.idx, ALERTS.c.code, ALERTS.c.detail)
                                .where(ALERTS.c.order_id == order_id)).all()
            if any(r.code == code and r.detail == detail for r in rows):
                return False
            upsert(conn, ALERTS, [{"order_id": order_id, "idx": max((r.idx for r in rows),
                                                                    default=-1) + 1,
                                   "code": code, "severity": severity, "at": at,
                                   "detail": detail}])
            return True

    def append_events(self, order_id: str, events: list[TimelineEvent]) -> None:
        """Add timeline events to a recorded order; a retried call adds nothing twice."""
        rows = event_rows(order_id, events)
        with self._write() as conn:
            self._require_order(conn, order_id)
            insert_absent(conn, EVENTS, rows, ("order_id", "source", "seq"))

    # -- reads ----------------------------------------------------------------------

    def get_order(self, order_id: str) -> OrderRow:
        with self._read() as conn:
            row = conn.execute(select(ORDERS).where(ORDERS.c.id == order_id)).mappings().first()
        if row is None:
            raise InvalidInput("order_id", f"unknown order {order_id!r}")
        return order_row(row)

    def list_orders(
        self, limit: int = 50, offset: int = 0, status: Status | str | None = None,
        partner: str | None = None, sort: str = "updated",
    ) -> list[OrderRow]:
        """Orders (only `partner`'s when given), most recently updated first, or by
        `sort`: cutover (soonest first), customer, created (newest first)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
        if offset < 0:
            raise InvalidInput("offset", "must not be negative")
        keys = {"updated": ORDERS.c.updated_at.desc(), "cutover": ORDERS.c.cutover,
                "customer": ORDERS.c.customer, "created": ORDERS.c.created_at.desc()}
        if sort not in keys:
            raise InvalidInput("sort", "must be one of " + ", ".join(keys))
        query = select(ORDERS).order_by(keys[sort], ORDERS.c.id)
        if status is not None:
            query = query.where(ORDERS.c.status == _status(status).value)
        if partner is not None:
            query = query.where(ORDERS.c.partner == partner)
        with self._read() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [order_row(r) for r in rows]

    def attention(self, order_ids: list[str]) -> dict[str, tuple[int, int]]:
        """(open tasks, alerts) per order, in two queries (the orders list's badges)."""
        out = {o: (0, 0) for o in order_ids}
        with self._read() as conn:
            tasks: dict[str, int] = dict(conn.execute(select(TASKS.c.order_id, func.count()).where(
                TASKS.c.order_id.in_(order_ids), TASKS.c.state == "open")
                .group_by(TASKS.c.order_id)).all())
            alerts: dict[str, int] = dict(conn.execute(
                select(ALERTS.c.order_id, func.count()).where(
                    ALERTS.c.order_id.in_(order_ids)).group_by(ALERTS.c.order_id)).all())
        for o in order_ids:
            out[o] = (int(tasks.get(o, 0)), int(alerts.get(o, 0)))
        return out

    def save_domain_txt(self, order_id: str, records: dict[str, list[str]]) -> None:
        """The tenant's TXT values per vanity domain (the same again: no change)."""
        rows = [{"order_id": order_id, "domain": d.lower(), "values": list(v)}
                for d, v in records.items()]
        if not rows:
            return
        with self._write() as conn:
            upsert(conn, DOMAIN_TXT, rows)

    def domain_txt(self, order_id: str) -> dict[str, list[str]]:
        with self._read() as conn:
            rows = conn.execute(select(DOMAIN_TXT).where(
                DOMAIN_TXT.c.order_id == order_id)).mappings().all()
        return {r["domain"]: list(r["values"]) for r in rows}

    def live_markers(self, order_ids: list[str]) -> dict[str, tuple[object, ...]]:
        """Per order, a value that changes whenever anything its page shows changes (its
        snapshot, events, alerts, a pass's progress, the TXT values): one query for all
        of them, so live pages look at the store cheaply and render only when needed."""
        def of(table: Any, column: Any) -> Any:
            return select(column).where(table.c.order_id == ORDERS.c.id).scalar_subquery()

        query = select(ORDERS.c.id, ORDERS.c.updated_at, of(EVENTS, func.count()),
                       of(ALERTS, func.count()), of(SYNC_PASSES, func.count()),
                       of(SYNC_PASSES, func.max(SYNC_PASSES.c.ended_at)),
                       of(DOMAIN_TXT, func.count())).where(ORDERS.c.id.in_(order_ids))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return {r[0]: tuple(r[1:]) for r in rows}

    def timeline(self, order_id: str) -> list[TimelineEvent]:
        query = (
            select(EVENTS)
            .where(EVENTS.c.order_id == order_id)
            .order_by(EVENTS.c.at, EVENTS.c.source, EVENTS.c.seq)
        )
        rows = self._order_children(order_id, query)
        return [
            TimelineEvent(
                at=r["at"], kind=r["kind"], data=r["data"], source=r["source"], seq=r["seq"]
            )
            for r in rows
        ]

    def tasks(self, order_id: str) -> list[Task]:
        query = select(TASKS).where(TASKS.c.order_id == order_id).order_by(TASKS.c.task_id)
        return [
            Task(
                id=r["task_id"],
                code=r["code"],
                subject=r["subject"],
                opened_at=r["opened_at"],
                state=r["state"],
                detail=r["detail"],
                resolved_at=r["resolved_at"],
                resolved_by=r["resolved_by"],
            )
            for r in self._order_children(order_id, query)
        ]

    def alerts(self, order_id: str | None = None) -> list[AlertRow]:
        """Alerts of one order, or of every order, oldest first."""
        query = select(ALERTS).order_by(ALERTS.c.at, ALERTS.c.order_id, ALERTS.c.idx)
        if order_id is None:
            with self._read() as conn:
                return [alert_row(r) for r in conn.execute(query).mappings()]
        query = query.where(ALERTS.c.order_id == order_id)
        return [alert_row(r) for r in self._order_children(order_id, query)]

    def mailboxes(
        self, order_id: str, limit: int | None = None, offset: int = 0
    ) -> list[MailboxRow]:
        query = (
            select(MAILBOXES).where(MAILBOXES.c.order_id == order_id).order_by(MAILBOXES.c.address)
        )
        if limit is not None:
            query = query.limit(limit)
        return [mailbox_row(r) for r in self._order_children(order_id, query.offset(offset))]

    def mailbox(self, order_id: str, address: str) -> MailboxRow | None:
        """One mailbox of the order, None if the store does not have it (yet)."""
        m = MAILBOXES.c
        query = select(MAILBOXES).where(m.order_id == order_id, m.address == address.lower())
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        return mailbox_row(row) if row else None

    def domains(self, order_id: str) -> list[Domain]:
        query = select(DOMAINS).where(DOMAINS.c.order_id == order_id).order_by(DOMAINS.c.name)
        return [
            Domain(name=r["name"], added=r["added"], verified=r["verified"], mx_ok=r["mx_ok"])
            for r in self._order_children(order_id, query)
        ]

    def ctp_runs(self, order_id: str) -> list[CtpRun]:
        query = select(CTP_RUNS).where(CTP_RUNS.c.order_id == order_id).order_by(CTP_RUNS.c.name)
        return [
            CtpRun(
                name=r["name"],
                state=CtpState(r["state"]),
                runs=r["runs"],
                attempts=r["attempts"],
                started_at=r["started_at"],
                ended_at=r["ended_at"],
                error=r["error"],
            )
            for r in self._order_children(order_id, query)
        ]

    def _order_children(self, order_id: str, query: Any) -> list[Any]:
        with self._read() as conn:
            self._require_order(conn, order_id)
            return list(conn.execute(query).mappings())

    @staticmethod
    def _require_order(conn: Connection, order_id: str) -> None:
        require_order_id(order_id)
        if conn.execute(select(ORDERS.c.id).where(ORDERS.c.id == order_id)).first() is None:
            raise InvalidInput("order_id", f"unknown order {order_id!r}")


def _status(status: Status | str) -> Status:
    try:
        return Status(status)
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise InvalidInput("status", f"unknown status {status!r}; one of: {names}") from None


def create_store(
    database_url: str | None = None, *, secret_key: str | None = None, clock: Clock | None = None
) -> SqlStore:
    """Open (and migrate) the store; unset arguments come from `get_settings()`."""
    if database_url is None or secret_key is None:
        from ..config import get_settings

        settings = get_settings()
        database_url = database_url or settings.database_url
        if secret_key is None:
            assert settings.secret_key is not None  # the validator fills it in
            secret_key = settings.secret_key.get_secret_value()
    cipher = CredentialCipher(secret_key)
    engine = make_engine(database_url)
    try:
        migrate(engine)
    except Exception:
        engine.dispose()
        raise
    return SqlStore(engine, cipher, clock or utcnow)
