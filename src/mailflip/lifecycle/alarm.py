"""One durable timer at a time for a workflow's next due instant (workflow code).

`wait_condition(..., timeout=...)` starts a timer and cancels it whenever the
condition turns true first: one TimerStarted + TimerCanceled pair per loop turn.
That bloats history and, with the time-skipping test server, a cancel that races
the timer's firing was seen to wedge a workflow task ("invalid history builder
state for action"). An Alarm starts a timer only for an instant earlier than every
timer already running and never cancels one: a stale timer just rings harmlessly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


class Alarm:
    def __init__(self, ring: Callable[[], None]) -> None:
        self.ring = ring
        self.pending: set[datetime] = set()

    def at(self, when: datetime | None) -> None:
        """Make sure `ring` is called at `when` or sooner."""
        if when is None:
            return
        if self.pending and when >= min(self.pending):
            return
        delay = when - workflow.now()
        if delay <= timedelta(0):
            self.ring()
            return
        self.pending.add(when)

        async def sleep() -> None:
            await workflow.sleep(delay)
            self.pending.discard(when)
            self.ring()

        asyncio.ensure_future(sleep())

