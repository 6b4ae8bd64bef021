"""What the store hands back: plain dataclasses, never live ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.names import Status


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    partner: str
    partner_email: str | None
    customer: str
    poc_name: str
    poc_email: str
    initial_domain: str
    status: Status
    status_since: datetime | None
    on_hold: bool
    hold_reason: str | None
    hold_since: datetime | None
    cancelled: bool
    completed: bool
    cutover: datetime
    time_zone: str
    created_at: datetime | None
    placed_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class MailboxRow:
    order_id: str
    address: str
    source: str
    kind: str
    display_name: str | None
    sku: str | None
    removed: bool
    needs_password: bool
    flags_set: bool
    answered: bool
    created: str
    failed: bool
    sync_started: bool


@dataclass(frozen=True)
class AlertRow:
    order_id: str
    idx: int  # position in the order's alert list
    code: str
    severity: str
    at: datetime
    detail: str


@dataclass(frozen=True)
class NotificationRow:
    key: str
    order_id: str
    template: str
    recipient: str
    trigger: str
    subject: str
    body: str
    state: str  # pending | sent
    created_at: datetime
    sent_at: datetime | None
