"""The Mirror port: the store's copy of each order, written by the workflows' activities
(the portal and `mailflip orders` read it, never workflow history)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mailflip.domain.model import Alert, OrderState
from mailflip.domain.reconcile import Reconciliation
from mailflip.domain.timeline import TimelineEvent


class Mirror(Protocol):
    async def record(self, state: OrderState, events: list[TimelineEvent]) -> None: ...

    async def append_events(self, order_id: str, events: list[TimelineEvent]) -> None: ...

    async def purge_credentials(self, order_id: str, keep: tuple[str, ...] = ()) -> None:
        """Delete the order's stored credentials but the `keep` kinds (again: no error)."""
        ...

    async def open_orders(self) -> list[str]:
        """Ids of the orders neither completed nor cancelled."""
        ...

    async def add_alert(self, order_id: str, alert: Alert) -> bool:
        """An alert from outside the order's workflow, once per (code, detail); True if
        added. The workflow's own list replaces it at its next mirror write."""
        ...

    async def save_domain_txt(self, order_id: str, records: dict[str, list[str]]) -> None:
        """The TXT values the tenant gave per vanity domain (the portal shows them)."""
        ...

    async def save_reconciliation(self, order_id: str, mailbox: str, pass_name: str,
                                  at: datetime, rec: Reconciliation) -> None:
        """R-RECONCILE: keep the mailbox's result of this pass (the same again: no change)."""
        ...

    async def save_pass(self, order_id: str, mailbox: str, pass_name: str, at: datetime,
                        state: str, messages: int = 0, size: int = 0, errors: int = 0,
                        error: str = "", started: datetime | None = None) -> None:
        """A pass of the mailbox ended (completed or failed), with what it moved;
        `started`: when it was first scheduled (its attempts all count)."""
        ...

    async def save_progress(self, order_id: str, mailbox: str, pass_name: str,
                            started: datetime, at: datetime, progress: dict[str, int]) -> None:
        """A running pass's progress (messages and bytes copied, and to copy)."""
        ...
