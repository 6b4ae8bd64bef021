"""SqlMirror: the async Mirror port (store/port.py) over the sync SqlStore.

Activities run on the worker's event loop; the store's calls block on the database,
so each runs in a worker thread. The store opens one connection per call (SQLite
`BEGIN IMMEDIATE` serialises writers), so concurrent calls from several activities
are safe.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from ..domain.model import Alert, OrderState
from ..domain.reconcile import Reconciliation
from ..domain.timeline import TimelineEvent
from .repositories import SqlStore


class SqlMirror:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

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
        await asyncio.to_thread(self.store.save_pass, order_id, mailbox, pass_name, at,
                                state, messages, size, errors, error, started)

    async def save_progress(self, order_id: str, mailbox: str, pass_name: str,
                            started: datetime, at: datetime, progress: dict[str, int]) -> None:
        await asyncio.to_thread(self.store.save_progress, order_id, mailbox, pass_name,
                                started, at, progress)

    async def save_domain_txt(self, order_id: str, records: dict[str, list[str]]) -> None:
        await asyncio.to_thread(self.store.save_domain_txt, order_id, records)

    async def save_reconciliation(self, order_id: str, mailbox: str, pass_name: str,
                                  at: datetime, rec: Reconciliation) -> None:
        await asyncio.to_thread(self.store.save_reconciliation, order_id, mailbox, pass_name,
                                at, rec)
