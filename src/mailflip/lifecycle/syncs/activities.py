"""The syncs workflow's activities: run one pass (heartbeating), record events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from mailflip.errors import SyncItemError
from mailflip.lifecycle.ids import syncs_workflow_id
from mailflip.mail.port import MailMover
from mailflip.store.port import Mirror

from .messages import (
    COMMAND_SIGNAL,
    CommandSyncsInput,
    EventsInput,
    SyncPassInput,
    SyncPassOutput,
)


@dataclass
class SyncsActivities:
    mover: MailMover
    mirror: Mirror

    @activity.defn(name="run_sync_pass")
    async def run_sync_pass(self, inp: SyncPassInput) -> SyncPassOutput:
        def progress(detail: dict[str, Any]) -> None:
            activity.heartbeat(detail)

        try:
            res = await self.mover.run_pass(inp.order_id, inp.mailbox, inp.source,
                                            inp.pass_name, progress)
        except SyncItemError as exc:
            raise ApplicationError(str(exc), type=SyncItemError.__name__,
                                   non_retryable=True) from exc
        rec = res.reconciliation
        return SyncPassOutput(res.messages, res.bytes, res.errors,
                              rec.counts() if rec is not None else None)

    @activity.defn(name="command_syncs")
    async def command_syncs(self, inp: CommandSyncsInput) -> None:
        """Signal-with-start: the syncs workflow is independent of the order workflow's
        runs (it outlives their continue-as-new) and starts on its first command."""
        from .workflow import OrderSyncsWorkflow  # the workflow refers to these activities

        await activity.client().start_workflow(
            OrderSyncsWorkflow.run, inp.syncs, id=syncs_workflow_id(inp.syncs.order_id),
            task_queue=activity.info().task_queue, start_signal=COMMAND_SIGNAL,
            start_signal_args=[inp.command])

    @activity.defn(name="record_sync_events")
    async def record_sync_events(self, inp: EventsInput) -> None:
        await self.mirror.append_events(inp.order_id, inp.events)

    def all(self) -> list:
        return [self.run_sync_pass, self.command_syncs, self.record_sync_events]
