"""R-PASS-RETRY in the sync-pass activity, whatever the mover: transient interruptions
are retried; once they have lasted pass_give_up since the pass last made progress, the
pass fails for good. The instant they began travels in the heartbeat details from one
attempt to the next."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from mailflip.errors import PassInterrupted
from mailflip.lifecycle.syncs.activities import SyncsActivities
from mailflip.lifecycle.syncs.messages import SyncPassInput
from mailflip.mail.port import PassResult
from mailflip.store.memory import MemoryMirror

INP = SyncPassInput("o1", "ann@contoso.com", "ann@old.example", "final", give_up_s=24 * 3600)


class Interrupted:
    """A mover whose connection keeps dropping (after some progress, if asked)."""

    def __init__(self, progress_first: bool = False) -> None:
        self.progress_first = progress_first

    async def run_pass(self, order_id: str, mailbox: str, source: str, pass_name: str,
                       progress: Callable[[dict[str, Any]], None],
                       report_subjects: bool = False,
                       resumed: bool = False) -> PassResult:
        if self.progress_first:
            progress({"messages": 10})
        raise PassInterrupted(f"{pass_name} pass of {mailbox}: connection lost")


def env(heartbeats: list[Any], failing_for: timedelta | None = None) -> ActivityEnvironment:
    e = ActivityEnvironment()
    now = e.info.current_attempt_scheduled_time
    details = [{"failing_since": (now - failing_for).isoformat()}] if failing_for else []
    e.info = dataclasses.replace(e.info, heartbeat_details=details)
    e.on_heartbeat = lambda *d: heartbeats.append(d[0])
    return e


async def test_a_first_interruption_is_retried_and_remembers_when_it_began():
    beats: list[Any] = []
    e = env(beats)
    with pytest.raises(PassInterrupted):
        await e.run(SyncsActivities(Interrupted(), MemoryMirror()).run_sync_pass, INP)
    assert beats[-1]["failing_since"] == e.info.current_attempt_scheduled_time.isoformat()


async def test_interruptions_lasting_pass_give_up_fail_the_pass_for_good():
    e = env([], failing_for=timedelta(hours=24))
    with pytest.raises(ApplicationError) as err:
        await e.run(SyncsActivities(Interrupted(), MemoryMirror()).run_sync_pass, INP)
    assert err.value.non_retryable and err.value.type == "SyncItemError"
    assert "given up" in str(err.value)


async def test_progress_in_between_restarts_the_clock():
    beats: list[Any] = []
    e = env(beats, failing_for=timedelta(hours=30))
    with pytest.raises(PassInterrupted):  # it moved 10 messages: not given up
        await e.run(SyncsActivities(Interrupted(progress_first=True), MemoryMirror())
                    .run_sync_pass, INP)
    assert beats[-1]["failing_since"] == e.info.current_attempt_scheduled_time.isoformat()
