"""Migrations apply on both databases, twice, and match tables.py exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from mailflip.store.migrate import alembic_config, migrate
from mailflip.store.repositories import SqlStore
from mailflip.store.tables import metadata

TABLES = {
    "orders",
    "mailboxes",
    "domains",
    "ctp_runs",
    "tasks",
    "alerts",
    "notifications",
    "timeline_events",
    "credentials",
    "reconciliations",
    "access_tokens",
    "agents",
    "agent_commands",
    "sync_passes",
    "accounts",
    "sessions",
    "audit_log",
    "api_tokens",
    "alert_acks",
    "domain_txt",
    "partner_policies",
    "alembic_version",
}


def test_migrations_create_every_table_at_head(store: SqlStore) -> None:
    assert set(inspect(store.engine).get_table_names()) == TABLES
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_migrate_again_is_a_no_op(store: SqlStore) -> None:
    migrate(store.engine)
    migrate(store.engine.url)
    assert set(inspect(store.engine).get_table_names()) == TABLES


def test_alembic_head_matches_tables_py(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []
