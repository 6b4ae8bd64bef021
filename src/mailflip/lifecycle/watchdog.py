"""The watchdog (`mailflip-watchdog`): an order whose workflow task keeps failing is never
silent.

A workflow task that fails (a deadlock, a bug, a server that force-closed it) is retried
by Temporal for ever, and the order it belongs to simply stops moving: its own workflow
cannot raise an alert, because it no longer runs. Once a minute, the watchdog's activity
looks at every open order's workflows (`order-<id>` and its syncs shards); for a pending
workflow task on its `min_attempts`-th attempt or later it
- logs an error naming the order, the workflow and the failure;
- adds an alert `workflow_task_failing` for support to the store (`mailflip orders show`
  and the portal read it there, also while the order's workflow cannot run);
- signals the order workflow with the same alert, so that its own state has it once it
  runs again (at once when only a syncs shard is failing).
One watchdog per cluster (a fixed workflow id); every worker makes sure it runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowHistoryEventFilterType,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

with workflow.unsafe.imports_passed_through():
    from mailflip.domain.model import Alert
    from mailflip.domain.names import ALERT_SEVERITY, AlertCode
    from mailflip.lifecycle.ids import order_workflow_id, syncs_workflow_id
    from mailflip.lifecycle.order.messages import TaskFailingInput
    from mailflip.store.port import Mirror

WATCHDOG_ID = "mailflip-watchdog"
MAX_SHARDS = 1000  # how far it looks for an order's syncs shards
log = logging.getLogger("mailflip.watchdog")


@dataclass
class WatchdogInput:
    every_s: float = 60
    min_attempts: int = 3  # the task has failed twice in a row
    rounds_per_run: int = 500  # then continue as new (history stays small)


@dataclass
class FailingTask:
    order_id: str
    workflow_id: str
    attempts: int
    detail: str


@dataclass
class WatchdogResult:
    failing: list[FailingTask] = field(default_factory=list)


@dataclass
class WatchdogActivities:
    mirror: Mirror

    @activity.defn(name="check_workflow_tasks")
    async def check_workflow_tasks(self, inp: WatchdogInput) -> WatchdogResult:
        client = activity.client()
        out = WatchdogResult()
        for order_id in await self.mirror.open_orders():
            for wf_id, desc in await order_workflows(client, order_id):
                failing = await failing_task(client, order_id, wf_id, desc, inp.min_attempts)
                if failing is None:
                    continue
                out.failing.append(failing)
                log.error("order %s: the workflow task of %s has failed %d times in a row: %s",
                          order_id, wf_id, failing.attempts - 1, failing.detail)
                alert = Alert(AlertCode.WORKFLOW_TASK_FAILING.value,
                              ALERT_SEVERITY[AlertCode.WORKFLOW_TASK_FAILING],
                              activity.info().current_attempt_scheduled_time, failing.detail)
                if not await self.mirror.add_alert(order_id, alert):
                    continue  # raised in an earlier round: the order has been told
                try:
                    await client.get_workflow_handle(order_workflow_id(order_id)).signal(
                        "workflow_task_failing", TaskFailingInput(failing.detail))
                except RPCError as exc:
                    log.warning("order %s: could not signal its workflow: %s", order_id, exc)
        return out


async def describe(client: Client, wf_id: str) -> WorkflowExecutionDescription | None:
    try:
        return await client.get_workflow_handle(wf_id).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise


async def order_workflows(client: Client, order_id: str
                          ) -> list[tuple[str, WorkflowExecutionDescription]]:
    """The order's workflow and the syncs shards that exist, each described once (shards
    are numbered 0..n-1; one with no mailboxes yet may be missing before cutover: the
    search goes on past it)."""
    found = []
    order = await describe(client, order_workflow_id(order_id))
    if order is not None:
        found.append((order_workflow_id(order_id), order))
    missing = 0
    for k in range(MAX_SHARDS):
        wf_id = syncs_workflow_id(order_id, k)
        desc = await describe(client, wf_id)
        if desc is None:
            missing += 1
            if missing >= 3:
                break
            continue
        missing = 0
        found.append((wf_id, desc))
    return found


async def failing_task(client: Client, order_id: str, wf_id: str,
                       desc: WorkflowExecutionDescription, min_attempts: int
                       ) -> FailingTask | None:
    attempts = desc.raw_description.pending_workflow_task.attempt
    if attempts < min_attempts:
        return None
    why = "unknown failure"
    async for e in client.get_workflow_handle(wf_id).fetch_history_events(
            event_filter_type=WorkflowHistoryEventFilterType.ALL_EVENT):
        if e.HasField("workflow_task_failed_event_attributes"):
            # the message travels encoded (converter.py): decoded with the client's keys
            failure = await client.data_converter.decode_failure(
                e.workflow_task_failed_event_attributes.failure)
            why = str(failure).splitlines()[0][:300] if str(failure) else why
    run = (desc.run_id or "")[:8]
    return FailingTask(order_id, wf_id, attempts,
                       f"{wf_id} (run {run}): its workflow task keeps failing: {why}")


@workflow.defn(name="WatchdogWorkflow")
class WatchdogWorkflow:
    @workflow.run
    async def run(self, inp: WatchdogInput) -> None:
        for _ in range(inp.rounds_per_run):
            await workflow.execute_activity_method(
                WatchdogActivities.check_workflow_tasks, inp,
                start_to_close_timeout=timedelta(minutes=10))
            await workflow.sleep(timedelta(seconds=inp.every_s))
        workflow.continue_as_new(inp)


async def ensure_watchdog(client: Client, task_queue: str,
                          inp: WatchdogInput | None = None) -> None:
    """Start the cluster's watchdog unless it runs already."""
    await client.start_workflow(WatchdogWorkflow.run, inp or WatchdogInput(),
                                id=WATCHDOG_ID, task_queue=task_queue,
                                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
