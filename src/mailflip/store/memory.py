"""An in-memory Mirror: the timeline and latest state of each order, for simulations.

The same contract as the SQL store (tests/contracts run both)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from mailflip.domain.model import Alert, OrderState
from mailflip.domain.reconcile import Reconciliation
from mailflip.domain.timeline import TimelineEvent
from mailflip.errors import InvalidInput


class MemoryMirror:
    def __init__(self) -> None:
        self.events: dict[str, dict[tuple[str, int], TimelineEvent]] = {}
        self.states: dict[str, OrderState] = {}
        self.credentials_purged: set[str] = set()
        self.domain_txt: dict[str, dict[str, list[str]]] = {}  # order -> domain -> values
        # (order id, mailbox, pass) -> (state, messages, bytes) of its latest pass
        self.passes: dict[tuple[str, str, str], tuple[str, int, int]] = {}
        # order id -> (mailbox, pass) -> (at, result)
        self.reconciliations: dict[str, dict[tuple[str, str], tuple[datetime, Reconciliation]]] = {}

    async def record(self, state: OrderState, events: list[TimelineEvent]) -> None:
        prev = self.states.get(state.order_id)
        if prev is not None:  # a snapshot carries only changed mailboxes: merge, don't mutate
            state = replace(state, mailboxes={**prev.mailboxes, **state.mailboxes})
        self.states[state.order_id] = state
        await self.append_events(state.order_id, events)

    async def append_events(self, order_id: str, events: list[TimelineEvent]) -> None:
        bucket = self.events.setdefault(order_id, {})
        for e in events:
            bucket.setdefault((e.source, e.seq), e)

    async def open_orders(self) -> list[str]:
        return sorted(i for i, s in self.states.items() if not s.terminal)

    async def add_alert(self, order_id: str, alert: Alert) -> bool:
        state = self.states.get(order_id)
        if state is None:
            raise InvalidInput("order_id", f"unknown order {order_id!r}")
        if any(a.code == alert.code and a.detail == alert.detail for a in state.alerts):
            return False
        self.states[order_id] = replace(state, alerts=[*state.alerts, alert])
        return True

    async def purge_credentials(self, order_id: str, keep: tuple[str, ...] = ()) -> None:
        """Recorded once nothing is kept (the tenant's own after the access removal)."""
        if not keep:
            self.credentials_purged.add(order_id)

    async def save_pass(self, order_id: str, mailbox: str, pass_name: str, at: datetime,
                        state: str, messages: int = 0, size: int = 0, errors: int = 0,
                        error: str = "", started: datetime | None = None) -> None:
        self.passes[(order_id, mailbox, pass_name)] = (state, messages, size)

    async def save_progress(self, order_id: str, mailbox: str, pass_name: str,
                            started: datetime, at: datetime, progress: dict[str, int]) -> None:
        self.passes[(order_id, mailbox, pass_name)] = (
            "running", progress.get("messages_copied", 0), progress.get("bytes_copied", 0))

    async def save_domain_txt(self, order_id: str, records: dict[str, list[str]]) -> None:
        self.domain_txt.setdefault(order_id, {}).update(
            {d.lower(): list(v) for d, v in records.items()})

    async def save_reconciliation(self, order_id: str, mailbox: str, pass_name: str,
                                  at: datetime, rec: Reconciliation) -> None:
        self.reconciliations.setdefault(order_id, {})[(mailbox, pass_name)] = (at, rec)

    def latest_reconciliations(self, order_id: str) -> dict[str, tuple[str, Reconciliation]]:
        """mailbox -> (pass, result) of its latest reconciliation, as the store answers."""
        out: dict[str, tuple[datetime, str, Reconciliation]] = {}
        for (mailbox, pass_name), (at, rec) in self.reconciliations.get(order_id, {}).items():
            if mailbox not in out or at >= out[mailbox][0]:
                out[mailbox] = (at, pass_name, rec)
        return {m: (p, r) for m, (_, p, r) in sorted(out.items())}

    def timeline(self, order_id: str) -> list[TimelineEvent]:
        return sorted(self.events.get(order_id, {}).values(),
                      key=lambda e: (e.at, e.source != "order", e.seq))
