"""What every part of the store shares: the engine, write/read transactions, the clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from .crypto import CredentialCipher
from .engine import WRITE_OPTION

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    def __init__(self, engine: Engine, cipher: CredentialCipher, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._cipher = cipher
        self._clock = clock

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._engine.url.render_as_string(hide_password=True)})"

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (on SQLite `BEGIN IMMEDIATE`: waits for other writers)."""
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            yield conn
