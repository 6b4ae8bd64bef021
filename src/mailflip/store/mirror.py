"""Bulk writes for both dialects: upserts, insert-if-absent, and mirroring a child
collection of an order in a constant number of statements whatever its size."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

Row = dict[str, Any]

_CHUNK = 500  # keys per DELETE ... IN (...), well under SQLite's parameter limit


def _dialect(conn: Connection) -> str:
    if conn.dialect.name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"unsupported database dialect {conn.dialect.name!r}")
    return conn.dialect.name


def _insert(dialect: str, table: Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


# Statements are built once per dialect, table and column set, then reused: an upsert
# statement holds an alias of its table (`excluded`) whose objects form reference cycles,
# so building one per write (a reconciliation per sync pass) left garbage that only the
# cyclic collector frees, in full collections that stop the worker's every thread (1.7 s
# at 10,000 mailboxes, inside a workflow task). A built statement never changes.
@functools.lru_cache(maxsize=128)
def _upsert_stmt(dialect: str, table: Table, columns: tuple[str, ...]) -> Any:
    keys = [c.name for c in table.primary_key.columns]
    stmt = _insert(dialect, table)
    updates = {c: stmt.excluded[c] for c in columns if c not in keys}
    return stmt.on_conflict_do_update(index_elements=keys, set_=updates)


@functools.lru_cache(maxsize=128)
def _absent_stmt(dialect: str, table: Table, unique: tuple[str, ...]) -> Any:
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=list(unique))


def upsert(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Insert `rows`, updating every non-key column of rows that exist (one executemany)."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    stmt = _upsert_stmt(_dialect(conn), table, tuple(rows[0]))
    # Same lock order in every transaction: concurrent writers cannot deadlock.
    conn.execute(stmt, sorted(rows, key=lambda r: tuple(r[k] for k in keys)))


def insert_absent(
    conn: Connection, table: Table, rows: Sequence[Row], unique: Sequence[str]
) -> None:
    """Insert the rows whose `unique` columns are not taken yet (one executemany)."""
    if rows:
        conn.execute(_absent_stmt(_dialect(conn), table, tuple(unique)), list(rows))


def insert_one_absent(conn: Connection, table: Table, row: Row, unique: Sequence[str]) -> bool:
    """Insert `row` unless its `unique` columns are taken; True if this call inserted it.

    On PostgreSQL a concurrent inserter of the same key waits for the first to commit,
    then inserts nothing: exactly one caller gets True. RETURNING rather than rowcount,
    which psycopg does not report for this statement.
    """
    stmt = (
        _insert(_dialect(conn), table)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(*(table.c[name] for name in unique))
    )
    return conn.execute(stmt, row).first() is not None


def mirror_children(
    conn: Connection, table: Table, order_id: str, key: str, rows: Sequence[Row],
    *, prune: bool = True,
) -> None:
    """Make `table`'s rows of `order_id` equal `rows`: read once, write what differs.

    With `prune=False` rows absent from `rows` are kept (a partial, changed-only list)."""
    columns = [table.c[name] for name in rows[0]] if rows else [table.c[key]]
    stored = {
        r[key]: dict(r)
        for r in conn.execute(select(*columns).where(table.c.order_id == order_id)).mappings()
    }
    changed = [row for row in rows if stored.get(row[key]) != row]
    upsert(conn, table, changed)
    if not prune:
        return
    gone = list(stored.keys() - {row[key] for row in rows})
    for start in range(0, len(gone), _CHUNK):
        conn.execute(
            delete(table).where(
                table.c.order_id == order_id, table.c[key].in_(gone[start : start + _CHUNK])
            )
        )
