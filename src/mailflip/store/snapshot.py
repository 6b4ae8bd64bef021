"""OrderState -> plain row dicts, one list per table (pure: no database here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from mailflip.errors import InvalidInput

from ..domain.model import OrderState
from ..domain.timeline import TimelineEvent

Row = dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    order: Row
    mailboxes: list[Row]
    domains: list[Row]
    ctp_runs: list[Row]
    tasks: list[Row]
    alerts: list[Row]


def snapshot_rows(state: OrderState, now: datetime) -> Snapshot:
    """The rows mirroring `state`, keyed by order id."""
    order_id = require_order_id(state.order_id)
    spec = state.spec
    order = {
        "id": order_id,
        "partner": spec.partner,
        "partner_email": spec.partner_email,
        "customer": spec.customer,
        "poc_name": spec.poc.name,
        "poc_email": spec.poc.email,
        "initial_domain": spec.initial_domain,
        "status": _text(state.status),
        "status_since": state.status_since,
        "on_hold": state.hold is not None,
        "hold_reason": state.hold.reason if state.hold else None,
        "hold_since": state.hold.since if state.hold else None,
        "cancelled": state.cancelled,
        "completed": state.completed,
        "cutover": spec.cutover,
        "time_zone": spec.time_zone,
        "created_at": state.created_at,
        "placed_at": state.placed_at,
        "updated_at": now,
    }
    # Display name and licence: the mailbox's own, else the spec's (shared: no licence).
    people = {u.target: (u.name, u.sku) for u in spec.users}
    people.update({s.address: (s.name, "") for s in spec.shared_mailboxes})
    mailboxes = []
    for m in state.mailboxes.values():
        name, sku = people.get(m.address, ("", ""))
        mailboxes.append(
            {
                "order_id": order_id,
                "address": m.address,
                "source": m.source,
                "kind": _text(m.kind),
                "display_name": m.name or name or None,
                "sku": m.sku or sku or None,
                "removed": m.removed,
                "needs_password": m.needs_password,
                "flags_set": m.flags_set,
                "answered": m.answered,
                "created": _text(m.created),
                "failed": m.failed,
                "sync_started": m.sync_started,
            }
        )
    domains = [
        {
            "order_id": order_id,
            "name": d.name,
            "added": d.added,
            "verified": d.verified,
            "mx_ok": d.mx_ok,
        }
        for d in state.domains.values()
    ]
    ctp_runs = [
        {
            "order_id": order_id,
            "name": _text(name),
            "state": _text(run.state),
            "runs": run.runs,
            "attempts": run.attempts,
            "started_at": run.started_at,
            "ended_at": run.ended_at,
            "error": run.error,
        }
        for name, run in state.ctps.items()
    ]
    tasks = [
        {
            "order_id": order_id,
            "task_id": t.id,
            "code": _text(t.code),
            "subject": t.subject,
            "opened_at": t.opened_at,
            "state": _text(t.state),
            "detail": t.detail,
            "resolved_at": t.resolved_at,
            "resolved_by": t.resolved_by,
        }
        for t in state.tasks
    ]
    alerts = [
        {
            "order_id": order_id,
            "idx": i,
            "code": _text(a.code),
            "severity": _text(a.severity),
            "at": a.at,
            "detail": a.detail,
        }
        for i, a in enumerate(state.alerts)
    ]
    return Snapshot(order, mailboxes, domains, ctp_runs, tasks, alerts)


def event_rows(order_id: str, events: list[TimelineEvent]) -> list[Row]:
    order_id = require_order_id(order_id)
    rows = []
    for i, event in enumerate(events):
        if not event.source:
            raise InvalidInput(f"events[{i}].source", "must not be empty")
        rows.append(
            {
                "order_id": order_id,
                "source": event.source,
                "seq": event.seq,
                "at": event.at,
                "kind": _text(event.kind),
                "data": event.data,
            }
        )
    return rows


def require_order_id(order_id: str) -> str:
    if not isinstance(order_id, str) or not order_id.strip():
        raise InvalidInput("order_id", "must be a non-empty string")
    return order_id


def _text(value: Any) -> Any:
    """Enum members as their plain values, so stored and fresh rows compare equal."""
    return value.value if isinstance(value, Enum) else value
