"""initial schema: orders and their mirror, outbox, timeline, credentials

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Instants are aware UTC (mailflip.store.types.UtcDateTime over this type).
INSTANT = sa.DateTime(timezone=True)


def _order_id(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=f"fk_{table}_order_id_orders", ondelete="CASCADE"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("partner", sa.String(200), nullable=False),
        sa.Column("partner_email", sa.String(320), nullable=True),
        sa.Column("customer", sa.String(300), nullable=False),
        sa.Column("poc_name", sa.String(300), nullable=False),
        sa.Column("poc_email", sa.String(320), nullable=False),
        sa.Column("initial_domain", sa.String(253), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("status_since", INSTANT, nullable=True),
        sa.Column("on_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.String(200), nullable=True),
        sa.Column("hold_since", INSTANT, nullable=True),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("cutover", INSTANT, nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("created_at", INSTANT, nullable=True),
        sa.Column("placed_at", INSTANT, nullable=True),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_updated_at", "orders", ["updated_at"])

    op.create_table(
        "mailboxes",
        *_order_id("mailboxes"),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("source", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(300), nullable=True),
        sa.Column("sku", sa.String(100), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("needs_password", sa.Boolean(), nullable=False),
        sa.Column("flags_set", sa.Boolean(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("created", sa.String(16), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("sync_started", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "address", name="pk_mailboxes"),
    )
    op.create_table(
        "domains",
        *_order_id("domains"),
        sa.Column("name", sa.String(253), nullable=False),
        sa.Column("added", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("mx_ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "name", name="pk_domains"),
    )
    op.create_table(
        "ctp_runs",
        *_order_id("ctp_runs"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", INSTANT, nullable=True),
        sa.Column("ended_at", INSTANT, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "name", name="pk_ctp_runs"),
    )
    op.create_table(
        "tasks",
        *_order_id("tasks"),
        sa.Column("task_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(320), nullable=True),
        sa.Column("opened_at", INSTANT, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolved_at", INSTANT, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "task_id", name="pk_tasks"),
    )
    op.create_table(
        "alerts",
        *_order_id("alerts"),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "idx", name="pk_alerts"),
    )
    op.create_index("ix_alerts_at", "alerts", ["at"])

    op.create_table(
        "timeline_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        *_order_id("timeline_events"),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_timeline_events"),
        sa.UniqueConstraint(
            "order_id", "source", "seq", name="uq_timeline_events_order_id_source_seq"
        ),
    )
    op.create_index("ix_timeline_events_order_at", "timeline_events", ["order_id", "at"])

    op.create_table(
        "notifications",
        sa.Column("key", sa.String(800), nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("trigger", sa.String(300), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_notifications"),
    )
    op.create_index("ix_notifications_order_id", "notifications", ["order_id"])
    op.create_index("ix_notifications_state", "notifications", ["state"])

    op.create_table(
        "credentials",
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "kind", name="pk_credentials"),
    )


def downgrade() -> None:
    for table in (
        "credentials",
        "notifications",
        "timeline_events",
        "alerts",
        "tasks",
        "ctp_runs",
        "domains",
        "mailboxes",
        "orders",
    ):
        op.drop_table(table)
