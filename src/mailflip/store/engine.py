"""Engines for the store: SQLite by default, PostgreSQL (psycopg 3) when configured.

SQLite gets WAL (the portal reads while the worker writes), enforced foreign keys and
`BEGIN IMMEDIATE` for write transactions: a deferred transaction that reads before it
writes can fail with "database is locked" instead of waiting for another writer.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

# Execution option set on the engine that write transactions use.
WRITE_OPTION = "mailflip_write"


def normalize_url(database_url: str | URL) -> URL:
    """Parse a database URL; a bare `postgresql://` means psycopg 3, the driver we ship."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(database_url: str | URL) -> Engine:
    """Build an engine for `database_url`, creating a SQLite file's directory."""
    url = normalize_url(database_url)
    serializer = partial(json.dumps, default=_json_default)
    # hide_parameters: bound values (ciphertexts, e-mail bodies) stay out of logs and
    # exception messages.
    if url.get_backend_name() != "sqlite":
        return create_engine(
            url, json_serializer=serializer, hide_parameters=True, pool_pre_ping=True
        )
    database = url.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # An in-memory database lives as long as its one connection: share that connection.
    pooling: dict[str, Any] = (
        {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        if in_memory
        else {"connect_args": {"timeout": 30}}
    )
    engine = create_engine(url, json_serializer=serializer, hide_parameters=True, **pooling)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling would
    # start a deferred transaction lazily).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _json_default(value: Any) -> Any:
    """Timeline event data may carry instants and enums; store them as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in timeline event data")
