"""Table handles and row -> dataclass conversions used by the repositories."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table

from mailflip.errors import InvalidInput

from ..domain.names import Status
from .rows import AlertRow, MailboxRow, NotificationRow, OrderRow
from .tables import (
    AccessTokenRecord,
    AccountRecord,
    AgentCommandRecord,
    AgentRecord,
    AlertAckRecord,
    AlertRecord,
    ApiTokenRecord,
    AuditRecord,
    CredentialRecord,
    CtpRunRecord,
    DomainRecord,
    DomainTxtRecord,
    MailboxRecord,
    NotificationRecord,
    OrderRecord,
    PartnerPolicyRecord,
    ReconciliationRecord,
    SessionRecord,
    SyncPassRecord,
    TaskRecord,
    TimelineEventRecord,
)

ORDERS = cast(Table, OrderRecord.__table__)
MAILBOXES = cast(Table, MailboxRecord.__table__)
DOMAINS = cast(Table, DomainRecord.__table__)
CTP_RUNS = cast(Table, CtpRunRecord.__table__)
TASKS = cast(Table, TaskRecord.__table__)
ALERTS = cast(Table, AlertRecord.__table__)
EVENTS = cast(Table, TimelineEventRecord.__table__)
NOTIFICATIONS = cast(Table, NotificationRecord.__table__)
CREDENTIALS = cast(Table, CredentialRecord.__table__)
RECONCILIATIONS = cast(Table, ReconciliationRecord.__table__)
ACCESS_TOKENS = cast(Table, AccessTokenRecord.__table__)
AGENTS = cast(Table, AgentRecord.__table__)
AGENT_COMMANDS = cast(Table, AgentCommandRecord.__table__)
SYNC_PASSES = cast(Table, SyncPassRecord.__table__)
ACCOUNTS = cast(Table, AccountRecord.__table__)
SESSIONS = cast(Table, SessionRecord.__table__)
AUDIT = cast(Table, AuditRecord.__table__)
API_TOKENS = cast(Table, ApiTokenRecord.__table__)
ALERT_ACKS = cast(Table, AlertAckRecord.__table__)
DOMAIN_TXT = cast(Table, DomainTxtRecord.__table__)
PARTNER_POLICIES = cast(Table, PartnerPolicyRecord.__table__)


def order_row(r: Any) -> OrderRow:
    return OrderRow(
        order_id=r["id"],
        partner=r["partner"],
        partner_email=r["partner_email"],
        customer=r["customer"],
        poc_name=r["poc_name"],
        poc_email=r["poc_email"],
        initial_domain=r["initial_domain"],
        status=Status(r["status"]),
        status_since=r["status_since"],
        on_hold=r["on_hold"],
        hold_reason=r["hold_reason"],
        hold_since=r["hold_since"],
        cancelled=r["cancelled"],
        completed=r["completed"],
        cutover=r["cutover"],
        time_zone=r["time_zone"],
        created_at=r["created_at"],
        placed_at=r["placed_at"],
        updated_at=r["updated_at"],
    )


def mailbox_row(r: Any) -> MailboxRow:
    return MailboxRow(**{name: r[name] for name in MailboxRow.__dataclass_fields__})


def alert_row(r: Any) -> AlertRow:
    return AlertRow(**{name: r[name] for name in AlertRow.__dataclass_fields__})


def notification_row(r: Any) -> NotificationRow:
    return NotificationRow(**{name: r[name] for name in NotificationRow.__dataclass_fields__})


def require_text(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must be a non-empty string")
    return value
