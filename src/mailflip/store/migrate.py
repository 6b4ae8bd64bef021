"""Schema migrations, run from code: `migrate(engine_or_url)` upgrades to head.

The Alembic config is built here rather than read from an .ini so that migrations run
the same from a checkout and from an installed package.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from .engine import WRITE_OPTION, make_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary, fixed: serializes concurrent migrations on one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x6D61696C666C6970  # "mailflip"


def alembic_config() -> Config:
    """An Alembic config for our migrations (pass a connection in `attributes`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine_or_url: Engine | str | URL) -> None:
    """Upgrade the database to the newest revision; safe to call concurrently."""
    if isinstance(engine_or_url, Engine):
        _upgrade(engine_or_url)
        return
    engine = make_engine(engine_or_url)
    try:
        _upgrade(engine)
    finally:
        engine.dispose()


def _upgrade(engine: Engine) -> None:
    # Write transaction: on SQLite `BEGIN IMMEDIATE` makes a second migrator wait.
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
