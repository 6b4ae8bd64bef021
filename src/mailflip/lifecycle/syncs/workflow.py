"""OrderSyncsWorkflow (`syncs-<order id>`): every mailbox's passes for one order.

A bounded sliding window of pass activities; commands arrive from the order
workflow as signals; failures and "all post-cutover passes ended" go back to it.
Continues as new every `continue_every` pass completions, carrying its state.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from mailflip.domain import syncs as chain
    from mailflip.domain.names import POST_CUTOVER_PASSES, PassState, SyncCommandKind, SyncPass
    from mailflip.domain.reconcile import Grade
    from mailflip.domain.rules import Timings
    from mailflip.domain.syncs import Box
    from mailflip.domain.timeline import TimelineEvent
    from mailflip.lifecycle.alarm import Alarm
    from mailflip.lifecycle.ids import order_workflow_id, syncs_event_source
    from mailflip.lifecycle.order import policies
    from mailflip.lifecycle.order.messages import SyncsReport
    from mailflip.lifecycle.order.workflow import OrderWorkflow

    from .activities import SyncsActivities
    from .messages import (
        COMMAND_SIGNAL,
        EventsInput,
        SyncPassInput,
        SyncPassOutput,
        SyncsCommand,
        SyncsInput,
        SyncsResult,
    )

EVENT_BATCH = 2000
EVENT_MIN_BATCH = 200


@workflow.defn(name="OrderSyncsWorkflow")
class OrderSyncsWorkflow:
    @workflow.init
    def __init__(self, inp: SyncsInput) -> None:
        self.inp = inp
        self.boxes: dict[str, Box] = inp.boxes
        self.t = Timings(sweep_interval=timedelta(seconds=inp.sweep_interval_s),
                         sweep_until=timedelta(seconds=inp.sweep_until_s))
        self.seq = inp.event_seq
        self.failed: list[list[str]] = inp.failed
        self.caught_up: list[list[str]] = inp.caught_up
        self.gaps: list[list[str]] = inp.gaps
        self.buffer: list[TimelineEvent] = []
        self.running: dict[str, asyncio.Task[None]] = {}
        self.ready: deque[str] = deque(a for a, b in self.boxes.items() if b.q and not b.run)
        self.sweeps: list[tuple[datetime, str]] = [(b.sweep_at, a) for a, b in
                                                 self.boxes.items() if b.sweep_at]
        heapq.heapify(self.sweeps)
        self.completions = 0
        self.changed = False
        self.alarm = Alarm(self.wake)
        self.stopped = False
        self.recording = False
        self.reporting = False
        self.settled_sent = False
        self.source = syncs_event_source(inp.shard)
        for b in self.boxes.values():
            b.run = None  # nothing runs across continue-as-new (drained before)

    @workflow.run
    async def run(self, inp: SyncsInput) -> SyncsResult:
        for cmd in inp.commands:
            self.apply(cmd)
        while True:
            self.release_due_sweeps()
            draining = self.completions >= inp.continue_every
            if not draining and not self.stopped:
                self.launch_ready()
            self.maybe_report()
            self.flush()
            if self.stopped and not self.running:
                break
            if chain.settled(self.boxes, inp.cutover_seen) and not self.running \
                    and self.settled_sent and not self.reporting \
                    and not workflow.patched("syncs-live-until-stopped"):
                break  # (histories before the patch; now the order stops it at completion,
                #        so that rerun_sync finds it, its timeline numbering intact)
            if draining and not self.running and not self.recording and not self.buffer \
                    and not self.reporting:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.next_input())
            await self.wait()
        while self.buffer or self.recording:
            self.flush(force=True)
            await workflow.wait_condition(lambda: not self.recording)
        return SyncsResult(len(self.boxes), inp.run_no, self.stopped)

    async def wait(self) -> None:
        self.changed = False
        if self.sweeps:
            self.alarm.at(self.sweeps[0][0])
        await workflow.wait_condition(lambda: self.changed)

    def wake(self) -> None:
        self.changed = True

    def next_input(self) -> SyncsInput:
        i = self.inp
        return SyncsInput(i.order_id, i.window, i.continue_every, i.sweep_interval_s,
                          i.sweep_until_s, [], self.boxes, i.cutover, i.cutover_seen,
                          self.seq, self.failed, pass_give_up_s=i.pass_give_up_s,
                          caught_up=self.caught_up, gaps=self.gaps,
                          run_no=i.run_no + 1, report_subjects=i.report_subjects,
                          pass_heartbeat_s=i.pass_heartbeat_s, shard=i.shard,
                          pass_task_queue=i.pass_task_queue, time_scale=i.time_scale)

    @workflow.query
    def unflushed(self) -> list[TimelineEvent]:
        """Timeline events not yet written to the store (written in batches)."""
        return list(self.buffer)

    # ---------------------------------------------------------------- commands
    @workflow.signal(name=COMMAND_SIGNAL)
    def command(self, cmd: SyncsCommand) -> None:
        self.apply(cmd)
        self.changed = True

    def apply(self, cmd: SyncsCommand) -> None:
        self.inp.report_subjects = cmd.report_subjects
        if cmd.kind in (SyncCommandKind.INITIAL, SyncCommandKind.CUTOVER):
            if cmd.kind is SyncCommandKind.CUTOVER:
                self.inp.cutover, self.inp.cutover_seen = cmd.cutover, True
            for addr, src in zip(cmd.mailboxes, cmd.sources, strict=True):
                box = self.boxes.setdefault(addr, Box(addr, src))
                box.removed = False
                if cmd.kind is SyncCommandKind.INITIAL and not box.init:
                    self.enqueue(box, SyncPass.INITIAL)
                elif cmd.kind is SyncCommandKind.CUTOVER and not box.post:
                    for p in chain.begin_cutover(box):
                        self.emit(box.a, p, PassState.CANCELLED)
                    self.emit(box.a, SyncPass.FINAL, PassState.SCHEDULED)
                    self.mark_ready(box)
        elif cmd.kind is SyncCommandKind.RESYNC:
            for box in self.boxes.values():
                if box.init and not box.post:
                    self.enqueue(box, SyncPass.RESYNC)
        elif cmd.kind is SyncCommandKind.REMOVE:
            for addr in cmd.mailboxes:
                gone = self.boxes.get(addr)
                if gone:
                    for p in chain.cancel_queued(gone, tuple(gone.q)):
                        self.emit(addr, p, PassState.CANCELLED)
                    gone.removed = True
        elif cmd.kind is SyncCommandKind.RERUN:
            pass_name = SyncPass(cmd.pass_name)
            if pass_name in POST_CUTOVER_PASSES:
                self.inp.cutover, self.inp.cutover_seen = cmd.cutover, True
            for addr, src in zip(cmd.mailboxes, cmd.sources, strict=True):
                # a run started afresh for a rerun knows the mailbox from the command
                box = self.boxes.setdefault(addr, Box(addr, src, init=True, done=True,
                                                      post=pass_name in POST_CUTOVER_PASSES))
                if chain.rerun(box, pass_name):
                    self.emit(box.a, pass_name, PassState.SCHEDULED)
                    self.settled_sent = False
                    self.mark_ready(box)
        elif cmd.kind is SyncCommandKind.STOP:
            self.stopped = True
            for box in self.boxes.values():
                for p in chain.cancel_queued(box, tuple(box.q)):
                    self.emit(box.a, p, PassState.CANCELLED)
            for task in self.running.values():
                task.cancel()

    def enqueue(self, box: Box, pass_name: SyncPass) -> None:
        if chain.queue(box, pass_name):
            self.emit(box.a, pass_name, PassState.SCHEDULED)
            self.mark_ready(box)

    def mark_ready(self, box: Box) -> None:
        if not box.run and box.q:
            self.ready.append(box.a)

    # ------------------------------------------------------------------ passes
    def release_due_sweeps(self) -> None:
        now = workflow.now()
        while self.sweeps and self.sweeps[0][0] <= now:
            _, addr = heapq.heappop(self.sweeps)
            box = self.boxes[addr]
            if box.sweep_at and box.sweep_at <= now and not box.removed:
                box.sweep_at = None
                self.enqueue(box, SyncPass.SWEEP)

    def launch_ready(self) -> None:
        while self.ready and len(self.running) < self.inp.window:
            box = self.boxes[self.ready.popleft()]
            if box.run or not box.q or box.removed:
                continue
            pass_name = box.q.pop(0)
            box.run = pass_name
            self.running[box.a] = asyncio.ensure_future(self.run_pass(box, pass_name))

    async def run_pass(self, box: Box, pass_name: SyncPass) -> None:
        started = workflow.now()
        self.emit(box.a, pass_name, PassState.STARTED)
        state = PassState.COMPLETED
        out: SyncPassOutput | None = None
        try:
            out = await workflow.execute_activity_method(
                SyncsActivities.run_sync_pass,
                SyncPassInput(self.inp.order_id, box.a, box.src, pass_name,
                              self.inp.pass_give_up_s, self.inp.report_subjects),
                task_queue=self.inp.pass_task_queue or None,
                **policies.SYNC_PASS.scaled(self.inp.time_scale).kwargs(
                    heartbeat=timedelta(seconds=self.inp.pass_heartbeat_s)))
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, CancelledError):
                state = PassState.CANCELLED
            else:
                state = PassState.FAILED
                msg = cause.message if isinstance(cause, ApplicationError) else str(cause)
                self.failed.append([box.a, pass_name, msg])
                box.failing = True
        except (asyncio.CancelledError, CancelledError):
            state = PassState.CANCELLED
        report = out.report if out is not None and state is PassState.COMPLETED else None
        gaps = report is not None and report["grade"] == Grade.GAPS
        if state is PassState.COMPLETED and box.failing and not gaps:
            box.failing = False
            self.caught_up.append([box.a, pass_name])
        self.emit(box.a, pass_name, state, **({"error": self.failed[-1][2]}
                                               if state is PassState.FAILED else {}))
        if report is not None:  # R-RECONCILE after every post-cutover pass
            box.grade = str(report["grade"])
            self.record("report", {"mailbox": box.a, "pass": pass_name.value, **report})
        chain.pass_ended(box, pass_name, started, self.inp.cutover, self.t)
        if gaps and box.done and report is not None:  # gaps after the last sweep
            box.failing = True
            self.gaps.append([box.a, f"{report['missing']} of {report['source']} messages "
                                     f"missing after the last {pass_name.value} pass"])
        if box.sweep_at:
            heapq.heappush(self.sweeps, (box.sweep_at, box.a))
        self.running.pop(box.a, None)
        self.completions += 1
        self.mark_ready(box)
        self.changed = True

    # ------------------------------------------------------------ outputs
    def emit(self, mailbox: str, pass_name: SyncPass, state: PassState, **extra: str) -> None:
        self.record("sync", {"mailbox": mailbox, "pass": pass_name.value, "state": state.value,
                             **extra})

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.seq += 1
        self.buffer.append(TimelineEvent(workflow.now(), kind, data, self.source, self.seq))

    def flush(self, force: bool = False) -> None:
        """Write timeline events in batches: at EVENT_MIN_BATCH, or when no pass runs."""
        if self.recording or not self.buffer:
            return
        if (len(self.buffer) < EVENT_MIN_BATCH and self.running and not force
                and workflow.patched("batch-sync-events")):  # histories before it replay
            return
        batch, self.buffer = self.buffer[:EVENT_BATCH], self.buffer[EVENT_BATCH:]
        self.recording = True

        async def write() -> None:
            try:
                await workflow.execute_activity_method(
                    SyncsActivities.record_sync_events, EventsInput(self.inp.order_id, batch),
                    **policies.SYNC_EVENTS.scaled(self.inp.time_scale).kwargs())
            finally:
                self.recording = False
                self.changed = True

        asyncio.ensure_future(write())

    def maybe_report(self) -> None:
        """Tell the order about failed passes, and once that every pass has ended."""
        settled = chain.settled(self.boxes, self.inp.cutover_seen) and not self.running
        if self.reporting or self.stopped or not (self.failed or self.caught_up or self.gaps
                                                  or (settled and not self.settled_sent)):
            return
        failed, self.failed = self.failed, []
        caught_up, self.caught_up = self.caught_up, []
        gaps, self.gaps = self.gaps, []
        grades = {b.a: b.grade for b in self.boxes.values() if b.grade} if settled else {}
        self.reporting = True

        async def report() -> None:
            try:
                await workflow.get_external_workflow_handle_for(
                    OrderWorkflow.run, order_workflow_id(self.inp.order_id)).signal(
                    OrderWorkflow.syncs_report,
                    SyncsReport(failed, settled, caught_up, gaps, grades, self.inp.shard))
                if settled:
                    self.settled_sent = True
            finally:
                self.reporting = False
                self.changed = True

        asyncio.ensure_future(report())
