"""reconciliations: each mailbox's R-RECONCILE result per post-cutover pass

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reconciliations",
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("mailbox", sa.String(320), nullable=False),
        sa.Column("pass_name", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grade", sa.String(16), nullable=False),
        sa.Column("source_messages", sa.Integer(), nullable=False),
        sa.Column("source_bytes", sa.BigInteger(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "mailbox", "pass_name", name="pk_reconciliations"),
    )


def downgrade() -> None:
    op.drop_table("reconciliations")
