"""TOTP multi-factor sign-in, sessions a user can list and end, partner policies

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as t:
        t.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        t.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        t.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=True))
        t.add_column(sa.Column("mfa_failed", sa.Integer(), server_default="0",
                               nullable=False))
        t.add_column(sa.Column("mfa_locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sessions") as t:
        t.add_column(sa.Column("address", sa.String(64), nullable=True))
        t.add_column(sa.Column("user_agent", sa.String(300), nullable=True))
        t.add_column(sa.Column("reauth_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "partner_policies",
        sa.Column("partner", sa.String(200), nullable=False),
        sa.Column("require_mfa", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("partner", name=op.f("pk_partner_policies")),
    )


def downgrade() -> None:
    op.drop_table("partner_policies")
    with op.batch_alter_table("sessions") as t:
        for name in ("reauth_at", "user_agent", "address"):
            t.drop_column(name)
    with op.batch_alter_table("accounts") as t:
        for name in ("mfa_locked_until", "mfa_failed", "recovery_codes", "totp_last_step",
                     "totp_secret"):
            t.drop_column(name)
