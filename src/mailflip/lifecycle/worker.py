"""A Temporal worker with the order and syncs workflows and their activities, built
from whichever adapters the caller (a composition root) picked: it picks nothing."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Interceptor, Worker

from mailflip.agents.port import Agents
from mailflip.dns.port import Dns
from mailflip.lifecycle.failures import CompactFailures
from mailflip.lifecycle.order.activities import OrderActivities
from mailflip.lifecycle.order.workflow import OrderWorkflow
from mailflip.lifecycle.runner import CachingSandboxedWorkflowRunner, context_free
from mailflip.lifecycle.syncs.activities import SyncsActivities
from mailflip.lifecycle.syncs.workflow import OrderSyncsWorkflow
from mailflip.lifecycle.watchdog import WatchdogActivities, WatchdogWorkflow
from mailflip.mail.port import MailMover
from mailflip.notify.port import Notifier
from mailflip.store.port import Mirror
from mailflip.tenant.port import Tenant

WORKFLOWS = [OrderWorkflow, OrderSyncsWorkflow, WatchdogWorkflow]

# Workflow tasks one worker takes at a time. Python runs them one at a time anyway (the
# GIL): taking a dozen at once (the SDK's default is 100) only stretches every one of them
# while they share the interpreter, a dozen syncs shards starting together took 0.9 s
# each instead of 0.07 s, towards the 2-second deadlock detector. Tasks not taken wait
# in the task queue, for this worker or another. (Two is the SDK's minimum with the
# workflow cache.)
WORKFLOW_TASK_SLOTS = 2


@dataclass
class Adapters:
    tenant: Tenant
    dns: Dns
    agents: Agents
    notifier: Notifier
    mover: MailMover
    mirror: Mirror


def activities(a: Adapters) -> list:
    order = OrderActivities(a.tenant, a.dns, a.agents, a.notifier, a.mirror)
    syncs = SyncsActivities(a.mover, a.mirror)
    return order.all() + syncs.all() + [WatchdogActivities(a.mirror).check_workflow_tasks]


def freeze_startup_heap() -> int:
    """Leave what the process holds after start-up (modules, the SDK, the sandbox's first
    imports: some 120,000 objects) out of every later full garbage collection, and say
    how many. A full collection stops every thread, a running workflow task included:
    at 10,000 mailboxes they came every few seconds and took up to 0.5 s, most of it
    walking that start-up heap, which never becomes garbage. Call once per process,
    after the worker is built and before it polls; later calls freeze nothing more (what
    lives then may yet become garbage: frozen, it would never be freed)."""
    if not _FROZEN:
        gc.collect()  # (garbage now would otherwise stay for good)
        gc.freeze()
        _FROZEN.append(True)
    return gc.get_freeze_count()


_FROZEN: list[bool] = []  # set once this process's start-up heap is frozen


def make_pass_worker(client: Client, task_queue: str, mover: MailMover, mirror: Mirror, *,
                     max_concurrent_activities: int = 200,
                     graceful_shutdown_timeout: timedelta = timedelta(0),
                     interceptors: Sequence[Interceptor] = ()) -> Worker:
    """A worker for sync passes only, on the pass task queue (EngineSettings
    .pass_task_queue): run in processes of their own, passes never hold up workflow tasks."""
    return Worker(
        client,
        task_queue=task_queue,
        activities=[SyncsActivities(mover, mirror).run_sync_pass],
        max_concurrent_activities=max_concurrent_activities,
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        interceptors=[CompactFailures(), *interceptors],
    )


def make_worker(client: Client, task_queue: str, adapters: Adapters, *,
                max_concurrent_activities: int = 200,
                max_concurrent_workflow_tasks: int = WORKFLOW_TASK_SLOTS,
                graceful_shutdown_timeout: timedelta = timedelta(0),
                interceptors: Sequence[Interceptor] = ()) -> Worker:
    """`graceful_shutdown_timeout`: how long a stopping worker lets running activities
    finish before cancelling them (Temporal then retries them on another worker).
    `max_concurrent_workflow_tasks`: see WORKFLOW_TASK_SLOTS."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=activities(adapters),
        max_concurrent_activities=max_concurrent_activities,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        workflow_runner=CachingSandboxedWorkflowRunner(
            context_free=context_free(client.data_converter)),
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        interceptors=[CompactFailures(), *interceptors],
    )
