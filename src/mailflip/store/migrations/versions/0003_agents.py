"""agents: end users' personal tokens, desktop agents and their commands

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_access_tokens"),
    )
    op.create_index("ix_access_tokens_order_id", "access_tokens", ["order_id"])
    op.create_table(
        "agents",
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("enrolled_at", WHEN, nullable=False),
        sa.Column("last_seen", WHEN, nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("readiness", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reported_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("order_id", "address", name="pk_agents"),
    )
    op.create_table(
        "agent_commands",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("acked_at", WHEN, nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agent_commands"),
        sa.UniqueConstraint("order_id", "address", "kind",
                            name="uq_agent_commands_order_id_address_kind"),
    )


def downgrade() -> None:
    op.drop_table("agent_commands")
    op.drop_table("agents")
    op.drop_index("ix_access_tokens_order_id", "access_tokens")
    op.drop_table("access_tokens")
