"""A running pass's progress reaches the store while it runs (every progress_every_s),
and its end, written after the reporting stops, is what stays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio.testing import ActivityEnvironment

from mailflip.lifecycle.syncs.activities import SyncsActivities
from mailflip.lifecycle.syncs.messages import SyncPassInput
from mailflip.mail.port import PassResult
from mailflip.store.repositories import create_store
from mailflip.store.sql_mirror import SqlMirror


class HalfwayMover:
    """A pass that reports half its work done, then finishes once the store shows it
    running (the MailMover port; the real engine's progress is tested in tests/sync)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def run_pass(self, order_id: str, mailbox: str, source: str, pass_name: str,
                       progress: Callable[[dict[str, Any]], None],
                       report_subjects: bool = False,
                       resumed: bool = False) -> PassResult:
        progress({"messages_copied": 5, "messages_to_copy": 10, "bytes_copied": 500,
                  "bytes_to_copy": 1000})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not any(p.state == "running" for p in self.store.passes(order_id)):
            assert loop.time() < deadline, "no progress reached the store"
            await asyncio.sleep(0.02)  # polling the store for the reporter's write
        return PassResult(messages=10, bytes=1000)


async def test_progress_reaches_the_store_while_the_pass_runs_and_its_end_stays(
        tmp_path: Path) -> None:
    store = create_store(f"sqlite:///{tmp_path / 'store.db'}", secret_key=None)
    try:
        acts = SyncsActivities(HalfwayMover(store), SqlMirror(store), progress_every_s=0.05)
        out = await ActivityEnvironment().run(acts.run_sync_pass, SyncPassInput(
            "o1", "ann@contoso.com", "ann@old.example", "initial"))
        assert out.messages == 10
        [row] = store.passes("o1")
        assert (row.state, row.runs, row.messages, row.bytes) == ("completed", 1, 10, 1000)
    finally:
        store.close()
