"""The syncs workflow's activities: run one pass (heartbeating), record events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from mailflip.domain import syncs as chain
from mailflip.domain.names import SyncCommandKind
from mailflip.errors import PassInterrupted, SyncItemError
from mailflip.lifecycle.ids import syncs_workflow_id
from mailflip.lifecycle.order.activities import attempt_now
from mailflip.mail.port import MailMover, PassResult
from mailflip.store.port import Mirror

from .messages import (
    COMMAND_SIGNAL,
    CommandSyncsInput,
    EventsInput,
    SyncPassInput,
    SyncPassOutput,
)

HANDOVER = "WorkerShutdown"
# commands for every shard (the others name mailboxes, and go where those are)
BROADCAST = (SyncCommandKind.CUTOVER, SyncCommandKind.RESYNC, SyncCommandKind.STOP)
HANDOVER_RETRY = timedelta(seconds=1)


def failing_since() -> datetime | None:
    """When this pass's transient failures began, from the last attempt's heartbeat."""
    details = activity.info().heartbeat_details
    last = details[-1] if details else None
    if isinstance(last, dict) and last.get("failing_since"):
        return datetime.fromisoformat(last["failing_since"])
    return None


def ended_now() -> datetime:
    """When a pass ends: now, or this attempt's server time when that is later (the
    time-skipping server's clock runs ahead of the wall's in tests); attempt_now alone
    would be when the attempt began, hiding how long the pass took."""
    return max(attempt_now(), datetime.now(UTC))


@dataclass
class SyncsActivities:
    mover: MailMover
    mirror: Mirror
    progress_every_s: float = 5.0  # how often a running pass's progress reaches the store

    @activity.defn(name="run_sync_pass")
    async def run_sync_pass(self, inp: SyncPassInput) -> SyncPassOutput:
        """One pass (R-PASS-LONG): progress is heartbeated, so a pass whose worker died is
        retried elsewhere and resumes from the mover's ledger. R-PASS-RETRY: transient
        interruptions are retried (the retry policy backs off) until they have lasted
        `give_up_s`, counted from the first one since the pass last made progress (kept
        in the heartbeat details across attempts); then the pass fails."""
        progressed = False
        latest: dict[str, Any] = {}
        started = activity.info().scheduled_time  # the pass's first attempt, not this one

        def progress(detail: dict[str, Any]) -> None:
            nonlocal progressed
            progressed = progressed or bool(detail)
            latest.update(detail)
            activity.heartbeat(detail)  # progress: no failing_since, the clock restarts

        try:
            async with self._reporting(inp, latest, started):
                res = await self._until_worker_shutdown(self.mover.run_pass(
                    inp.order_id, inp.mailbox, inp.source, inp.pass_name, progress,
                    inp.report_subjects, resumed=activity.info().attempt > 1))
        except SyncItemError as exc:
            await self.mirror.save_pass(inp.order_id, inp.mailbox, inp.pass_name,
                                        ended_now(), "failed", error=str(exc),
                                        started=started)
            raise ApplicationError(str(exc), type=SyncItemError.__name__,
                                   non_retryable=True) from exc
        except PassInterrupted as exc:
            now = attempt_now()
            since = (None if progressed else failing_since()) or now
            activity.heartbeat({"failing_since": since.isoformat()})
            if (now - since).total_seconds() >= inp.give_up_s:
                why = f"{exc}; still failing after {timedelta(seconds=inp.give_up_s)}: given up"
                await self.mirror.save_pass(inp.order_id, inp.mailbox, inp.pass_name, now,
                                            "failed", error=why, started=started)
                raise ApplicationError(why, type=SyncItemError.__name__,
                                       non_retryable=True) from exc
            raise
        await self.mirror.save_pass(inp.order_id, inp.mailbox, inp.pass_name, ended_now(),
                                    "completed", res.messages, res.bytes, res.errors,
                                    started=started)
        rec = res.reconciliation
        if rec is not None:  # the lists stay out of workflow history: only counts go back
            await self.mirror.save_reconciliation(inp.order_id, inp.mailbox, inp.pass_name,
                                                  ended_now(), rec)
        return SyncPassOutput(res.messages, res.bytes, res.errors,
                              rec.counts() if rec is not None else None)

    @contextlib.asynccontextmanager
    async def _reporting(self, inp: SyncPassInput, latest: dict[str, Any],
                         started: datetime) -> AsyncIterator[None]:
        """While the pass runs, its latest progress reaches the store every
        `progress_every_s` (portal, `orders show`); stopped before the pass's end is
        written, so a late progress write never hides it. Wall-clock times: they give
        the throughput and the ETA people read (over the pass since it was first
        scheduled: a resumed pass's rate counts the time lost to its interruptions)."""

        async def report() -> None:
            while True:
                await asyncio.sleep(self.progress_every_s)  # a reporting period
                if latest:
                    await self.mirror.save_progress(inp.order_id, inp.mailbox, inp.pass_name,
                                                    started, datetime.now(UTC), dict(latest))

        task = asyncio.ensure_future(report())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @staticmethod
    async def _until_worker_shutdown(work: Coroutine[Any, Any, PassResult]) -> PassResult:
        """A worker stopping for a deployment hands its passes over: the pass stops where
        it is (its ledger is consistent at every step) and the attempt fails with a
        retryable WorkerShutdown error that retries a second later, on another worker,
        resuming from the ledger. (A killed worker's passes resume the same way once
        their heartbeat times out.)"""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(activity.wait_for_worker_shutdown())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the pass itself was cancelled (order stopped)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        finally:
            stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise ApplicationError(
                "worker shutting down: the pass resumes on another worker", type=HANDOVER,
                next_retry_delay=HANDOVER_RETRY, category=ApplicationErrorCategory.BENIGN)
        return task.result()

    @activity.defn(name="command_syncs")
    async def command_syncs(self, inp: CommandSyncsInput) -> None:
        """Signal-with-start: the syncs workflows are independent of the order workflow's
        runs (they outlive their continue-as-new) and start on their first command.
        A command naming mailboxes goes to the shards that hold them; cutover, resync
        and stop go to every shard (cutover starts those that hold none, so that every
        shard settles). A retried delivery queues nothing twice (domain.syncs.queue)."""
        from .workflow import OrderSyncsWorkflow  # the workflow refers to these activities

        cmd, shards = inp.command, max(1, inp.shards)
        every = cmd.kind in BROADCAST
        window = chain.shard_window(inp.syncs.window, shards)
        sends = []
        for k, (mailboxes, sources) in enumerate(chain.split(cmd.mailboxes, cmd.sources,
                                                             shards)):
            if not mailboxes and not every:
                continue
            part = replace(cmd, mailboxes=mailboxes, sources=sources)
            sends.append(activity.client().start_workflow(
                OrderSyncsWorkflow.run, replace(inp.syncs, shard=k, window=window),
                id=syncs_workflow_id(inp.syncs.order_id, k),
                task_queue=activity.info().task_queue, start_signal=COMMAND_SIGNAL,
                start_signal_args=[part]))
        await asyncio.gather(*sends)

    @activity.defn(name="record_sync_events")
    async def record_sync_events(self, inp: EventsInput) -> None:
        await self.mirror.append_events(inp.order_id, inp.events)

    def all(self) -> list:
        return [self.run_sync_pass, self.command_syncs, self.record_sync_events]
