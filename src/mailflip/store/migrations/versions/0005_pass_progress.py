"""sync_passes: a running pass's progress (when it started, what it has to copy)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_passes") as table:
        table.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("messages_total", sa.Integer(), nullable=False,
                                   server_default="0"))
        table.add_column(sa.Column("bytes_total", sa.BigInteger(), nullable=False,
                                   server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sync_passes") as table:
        table.drop_column("bytes_total")
        table.drop_column("messages_total")
        table.drop_column("started_at")
