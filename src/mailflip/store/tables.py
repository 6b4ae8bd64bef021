"""The store's tables: a mirror of each order's state for the portal, plus the
notification outbox, the timeline and encrypted credentials.

Child rows of an order are keyed by (order_id, natural key) so that a snapshot can be
upserted in bulk. Credentials and notifications have no foreign key to `orders`: they
may be written before the order's first snapshot is mirrored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import (
    false as sa_false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _order_fk() -> ForeignKey:
    """Each child table's `order_id` needs its own ForeignKey object."""
    return ForeignKey("orders.id", ondelete="CASCADE")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}


class OrderRecord(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    partner: Mapped[str] = mapped_column(String(200))
    partner_email: Mapped[str | None] = mapped_column(String(320))
    customer: Mapped[str] = mapped_column(String(300))
    poc_name: Mapped[str] = mapped_column(String(300))
    poc_email: Mapped[str] = mapped_column(String(320))
    initial_domain: Mapped[str] = mapped_column(String(253))
    status: Mapped[str] = mapped_column(String(64), index=True)  # display name
    status_since: Mapped[datetime | None]
    on_hold: Mapped[bool]
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    hold_since: Mapped[datetime | None]
    cancelled: Mapped[bool]
    completed: Mapped[bool]
    cutover: Mapped[datetime]
    time_zone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime | None]
    placed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(index=True)


class MailboxRecord(Base):
    """A user's or a shared mailbox of an order (the "users" of the portal)."""

    __tablename__ = "mailboxes"

    order_id: Mapped[str] = mapped_column(String(200), _order_fk(), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    source: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str | None] = mapped_column(String(300))
    sku: Mapped[str | None] = mapped_column(String(100))
    removed: Mapped[bool]
    needs_password: Mapped[bool]
    flags_set: Mapped[bool]
    answered: Mapped[bool]
    created: Mapped[str] = mapped_column(String(16))
    failed: Mapped[bool]
    sync_started: Mapped[bool]


class DomainRecord(Base):
    __tablename__ = "domains"

    order_id: Mapped[str] = mapped_column(String(200), _order_fk(), primary_key=True)
    name: Mapped[str] = mapped_column(String(253), primary_key=True)
    added: Mapped[bool]
    verified: Mapped[bool]
    mx_ok: Mapped[bool]


class CtpRunRecord(Base):
    __tablename__ = "ctp_runs"

    order_id: Mapped[str] = mapped_column(String(200), _order_fk(), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    runs: Mapped[int]
    attempts: Mapped[int]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class TaskRecord(Base):
    __tablename__ = "tasks"

    order_id: Mapped[str] = mapped_column(String(200), _order_fk(), primary_key=True)
    task_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(320))
    opened_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))


class AlertRecord(Base):
    """An alert for support; `idx` is its position in the order's (append-only) list."""

    __tablename__ = "alerts"

    order_id: Mapped[str] = mapped_column(String(200), _order_fk(), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(index=True)
    detail: Mapped[str] = mapped_column(Text)


class NotificationRecord(Base):
    """The outbox: a row per notification key, claimed once, then marked sent."""

    __tablename__ = "notifications"

    key: Mapped[str] = mapped_column(String(800), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(200), index=True)
    template: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    trigger: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ReconciliationRecord(Base):
    """R-RECONCILE: a mailbox's reconciliation after one post-cutover pass, with the
    messages skipped (each with its reason) and missing. Kept after completion; no
    foreign key, like the outbox (written by the mail worker's activity)."""

    __tablename__ = "reconciliations"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(320), primary_key=True)
    pass_name: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime]
    grade: Mapped[str] = mapped_column(String(16))
    source_messages: Mapped[int] = mapped_column(Integer)
    source_bytes: Mapped[int] = mapped_column(BigInteger)
    present: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    missing: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class TimelineEventRecord(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (
        UniqueConstraint("order_id", "source", "seq"),
        Index("ix_timeline_events_order_at", "order_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200), _order_fk())
    source: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int]
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class CredentialRecord(Base):
    """Fernet ciphertext of a secret; the plaintext never reaches the database."""

    __tablename__ = "credentials"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"CredentialRecord(order_id={self.order_id!r}, kind={self.kind!r})"


metadata = Base.metadata


class AccessTokenRecord(Base):
    """A personal token of an end user (the gather-info link, the desktop agent's
    enrolment code), by its SHA-256: the token itself is never stored. Purged when the
    order completes."""

    __tablename__ = "access_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # gather | agent
    order_id: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]


class AgentRecord(Base):
    """An end user's desktop agent: enrolled with its token, last heard from, and the
    readiness it last reported (R-READINESS-4H reads it)."""

    __tablename__ = "agents"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    enrolled_at: Mapped[datetime]
    last_seen: Mapped[datetime]
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    readiness: Mapped[str] = mapped_column(String(16))  # unknown | ready | not_ready
    reason: Mapped[str] = mapped_column(Text)
    reported_at: Mapped[datetime | None]


class AgentCommandRecord(Base):
    """A command for an agent (flip, stop), once per order, user and kind; done when the
    agent acknowledges it."""

    __tablename__ = "agent_commands"
    __table_args__ = (UniqueConstraint("order_id", "address", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    acked_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(Text)  # "" until acknowledged; done | failed: why


class SyncPassRecord(Base):
    """Each mailbox's latest pass of each kind (initial, resync, final, delta, sweep):
    how it ended, what it moved. Written by the mail worker's run_sync_pass activity;
    `mailflip orders show` reads it."""

    __tablename__ = "sync_passes"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(320), primary_key=True)
    pass_name: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # running | completed | failed
    runs: Mapped[int] = mapped_column(Integer)
    messages: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(Integer)
    ended_at: Mapped[datetime]  # running: when its progress was last written
    error: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    messages_total: Mapped[int] = mapped_column(Integer, server_default="0")
    bytes_total: Mapped[int] = mapped_column(BigInteger, server_default="0")


class AccountRecord(Base):
    """A portal account: a partner organisation's user (sees only its orders) or a
    support user (every order). The password only as its argon2 hash."""

    __tablename__ = "accounts"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # partner | support
    partner: Mapped[str | None] = mapped_column(String(200), index=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None]
    # TOTP multi-factor sign-in: the shared secret (Fernet ciphertext, like credentials),
    # the last time step used (a code works once), recovery codes as SHA-256 hashes, and
    # wrong codes counted apart from wrong passwords
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_codes: Mapped[list[str] | None] = mapped_column(JSON)
    mfa_failed: Mapped[int] = mapped_column(Integer, server_default="0")
    mfa_locked_until: Mapped[datetime | None]


class SessionRecord(Base):
    """A signed-in browser: the session cookie's SHA-256 (never the cookie), whose
    account, when it began and when it was last used (the idle timeout)."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(
        String(320), ForeignKey("accounts.email", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen: Mapped[datetime]
    # shown in the account's list of sessions; when the password was last asked again
    # (changing credentials or MFA needs it within minutes)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    reauth_at: Mapped[datetime | None]


class PartnerPolicyRecord(Base):
    """A partner organisation's own rules for its accounts (set by support)."""

    __tablename__ = "partner_policies"

    partner: Mapped[str] = mapped_column(String(200), primary_key=True)
    require_mfa: Mapped[bool] = mapped_column(Boolean, server_default=sa_false())


class AuditRecord(Base):
    """Every action taken in the portal, the API or the CLI on behalf of an account:
    who, when, what, on which order, and the state before and after (never a secret)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(320))
    order_id: Mapped[str | None] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ApiTokenRecord(Base):
    """An API token of a portal account, for automation: its SHA-256 only (the token is
    shown once, when made). Revoking deletes it; so does deleting the account."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # shown in lists
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(
        String(320), ForeignKey("accounts.email", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    last_used: Mapped[datetime | None]


class AlertAckRecord(Base):
    """Support has seen an order's alert and taken it on: it leaves the alert queue
    (the alert itself stays in the order, as the workflow raised it)."""

    __tablename__ = "alert_acks"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    by: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)


class DomainTxtRecord(Base):
    """The TXT values the tenant gave for an order's vanity domain (what the partner
    publishes for Verify Vanity Domain), for the portal's DNS records."""

    __tablename__ = "domain_txt"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    values: Mapped[list[str]] = mapped_column(JSON)
