"""Issue 14: an order whose workflow task keeps failing is never silent. The watchdog logs
it with the order id, adds an alert for support to the store (the order's workflow cannot
run), and signals the order so that its own state has the alert once it runs again."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from mailflip.domain import actions as act
from mailflip.domain.model import OrderSpec, Poc, UserSpec
from mailflip.lifecycle.converter import data_converter, ephemeral_keyring
from mailflip.lifecycle.ids import order_workflow_id
from mailflip.lifecycle.order.messages import TaskFailingInput
from mailflip.lifecycle.runner import CachingSandboxedWorkflowRunner
from mailflip.lifecycle.watchdog import (
    WatchdogActivities,
    WatchdogInput,
    WatchdogWorkflow,
    ensure_watchdog,
)
from mailflip.simulate.runner import quiet_runtime
from mailflip.store.memory import MemoryMirror

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@workflow.defn(name="BrokenOrderWorkflow")
class BrokenOrderWorkflow:
    """Stands in for an order workflow whose every task fails (a bug, a deadlock), until
    it has been told by the watchdog (then it runs again and ends)."""

    def __init__(self) -> None:
        self.told: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        if not self.told:
            raise RuntimeError("boom: the workflow task fails every time")
        return self.told

    @workflow.signal
    def workflow_task_failing(self, inp: TaskFailingInput) -> None:
        self.told.append(inp.detail)


async def until(check, what: str, deadline_s: float = 60.0):  # noqa: ANN001, ANN201
    """Poll (real time, bounded) until `check()` returns something truthy."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while loop.time() < end:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
async def test_watchdog_alerts_on_an_order_whose_workflow_task_keeps_failing(caplog):
    caplog.set_level(logging.ERROR, logger="mailflip.watchdog")
    mirror = MemoryMirror()
    spec = OrderSpec("acme-msp", "Contoso", Poc("Pat Doe", "pat@contoso.com"),
                     T0 + timedelta(days=21), "contoso.onmicrosoft.com",
                     users=[UserSpec("Ann", "ann@old.example", "ann@contoso.com", "SPB")])
    healthy = act.init_state("ok-1", spec, T0)
    await mirror.record(act.init_state("o-1", spec, T0), [])
    await mirror.record(healthy, [])
    # the dev server (a real Temporal server): the time-skipping test server does not
    # report a pending workflow task's attempt
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.prefix) / "bin" / "temporal"),
        data_converter=data_converter(ephemeral_keyring()), runtime=quiet_runtime())
    queue = f"watchdog-{uuid.uuid4().hex[:6]}"
    try:
        async with Worker(env.client, task_queue=queue,
                          workflows=[BrokenOrderWorkflow, WatchdogWorkflow],
                          activities=[WatchdogActivities(mirror).check_workflow_tasks],
                          workflow_runner=CachingSandboxedWorkflowRunner()):
            broken = await env.client.start_workflow(
                BrokenOrderWorkflow.run, id=order_workflow_id("o-1"), task_queue=queue)

            async def attempts() -> bool:
                desc = await broken.describe()
                return desc.raw_description.pending_workflow_task.attempt >= 2

            await until(attempts, "the broken workflow's second task attempt")
            await ensure_watchdog(env.client, queue, WatchdogInput(every_s=5, min_attempts=2))
            await ensure_watchdog(env.client, queue)  # one per cluster: this one is kept

            async def alerted() -> list:
                return [a for a in mirror.states["o-1"].alerts
                        if a.code == "workflow_task_failing"]

            [alert] = await until(alerted, "the watchdog's alert")
            assert alert.severity == "critical"
            assert "order-o-1" in alert.detail and "boom" in alert.detail
            assert mirror.states["ok-1"].alerts == []  # a healthy order is left alone
            logged = [r.getMessage() for r in caplog.records if r.name == "mailflip.watchdog"]
            assert any("order o-1" in m and "order-o-1" in m for m in logged)
            # the signal waits while the task fails; the next attempt (after the task's
            # timeout) carries it: the order has the alert in its own state
            assert await broken.result() == [alert.detail]
    finally:
        await env.shutdown()
