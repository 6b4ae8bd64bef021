"""SqlMirror: the async Mirror port (store/port.py) over the sync SqlStore.

Activities run on the worker's event loop; the store's calls block on the database,
so each runs in a worker thread. The store opens one connection per call (SQLite
`BEGIN IMMEDIATE` serialises writers), so concurrent calls from several activities
are safe. The pass log, written at the end of every pass, goes through one BatchWriter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from ..domain.model import Alert, OrderState
from ..domain.reconcile import Reconciliation
from ..domain.timeline import TimelineEvent
from .reconciliations import PassWrite, end_write, progress_write
from .repositories import SqlStore

PASS_BATCH = 500  # pass-log writes per transaction, at most


class BatchWriter:
    """Writes that arrive together go out together: `put` returns once its write is
    committed, in one transaction with whatever else was waiting (up to PASS_BATCH).
    Hundreds of passes ending at once (a big order's short passes) then cost a few
    transactions, not one each. (Whether that shortens workflow tasks in the same
    process was not measurable on the bench's noisy runs.) One writer at a time, in
    arrival order; a new one starts on another event loop."""

    def __init__(self, write: Callable[[list[PassWrite]], None]) -> None:
        self._write = write
        self._waiting: list[tuple[PassWrite, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def put(self, item: PassWrite) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done() \
                or self._writer.get_loop() is not asyncio.get_running_loop():
            self._writer = asyncio.ensure_future(self._drain())
        await done

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[:PASS_BATCH]
            del self._waiting[:PASS_BATCH]
            try:
                await asyncio.to_thread(self._write, [item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to each waiting write
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


class SqlMirror:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._passes = BatchWriter(store.put_passes)

    def __repr__(self) -> str:
        return f"SqlMirror({self.store!r})"

    async def record(self, state: OrderState, events: list[TimelineEvent]) -> None:
        await asyncio.to_thread(self.store.record, state, events)

    async def append_events(self, order_id: str, events: list[TimelineEvent]) -> None:
        await asyncio.to_thread(self.store.append_events, order_id, events)

    async def open_orders(self) -> list[str]:
        return await asyncio.to_thread(self.store.open_orders)

    async def add_alert(self, order_id: str, alert: Alert) -> bool:
        return await asyncio.to_thread(self.store.add_alert, order_id, alert.code,
                                       alert.severity, alert.at, alert.detail)

    async def purge_credentials(self, order_id: str, keep: tuple[str, ...] = ()) -> None:
        await asyncio.to_thread(self.store.purge_credentials, order_id, keep)

    async def save_pass(self, order_id: str, mailbox: str, pass_name: str, at: datetime,
                        state: str, messages: int = 0, size: int = 0, errors: int = 0,
                        error: str = "", started: datetime | None = None) -> None:
        await self._passes.put(end_write(order_id, mailbox, pass_name, at, state, messages,
                                         size, errors, error, started))

    async def save_progress(self, order_id: str, mailbox: str, pass_name: str,
                            started: datetime, at: datetime, progress: dict[str, int]) -> None:
        await self._passes.put(progress_write(order_id, mailbox, pass_name, started, at,
                                              progress))

    async def save_domain_txt(self, order_id: str, records: dict[str, list[str]]) -> None:
        await asyncio.to_thread(self.store.save_domain_txt, order_id, records)

    async def save_reconciliation(self, order_id: str, mailbox: str, pass_name: str,
                                  at: datetime, rec: Reconciliation) -> None:
        await asyncio.to_thread(self.store.save_reconciliation, order_id, mailbox, pass_name,
                                at, rec)
