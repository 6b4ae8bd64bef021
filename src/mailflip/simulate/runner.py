"""`mailflip simulate`: the real order workflow on Temporal's time-skipping server,
the simulated world behind the ports, the scenario's actions at their times.

Scenario time = server time - offset (fixed at start); the workflow sees only server time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.client import WorkflowQueryFailedError
from temporalio.converter import DataConverter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from mailflip.domain.model import OrderSettings, OrderState, UserSpec
from mailflip.domain.syncs import shard_count
from mailflip.domain.timeline import TimelineEvent, iso_z
from mailflip.domain.validation import check_spec
from mailflip.errors import InvalidInput
from mailflip.lifecycle.binaries import bundled_binary
from mailflip.lifecycle.client import act
from mailflip.lifecycle.converter import data_converter, ephemeral_keyring
from mailflip.lifecycle.ids import order_workflow_id, syncs_workflow_ids
from mailflip.lifecycle.order import messages as m
from mailflip.lifecycle.order.workflow import OrderWorkflow
from mailflip.lifecycle.syncs.workflow import OrderSyncsWorkflow
from mailflip.lifecycle.worker import Adapters, make_pass_worker, make_worker
from mailflip.store.memory import MemoryMirror

from .scenario import MAX_COMPLETE, Clock, EventIn, ScenarioIn, to_spec
from .world import SimulatedWorld, WorldConfig, world_config

TASK_QUEUE = "mailflip-simulate"


def quiet_runtime() -> Runtime:
    """A Temporal runtime that logs errors only (simulate's stdout/stderr are for people)."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(
        filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))))


@asynccontextmanager
async def time_skipping(converter: DataConverter | None = None
                        ) -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server from the pip package (nothing downloaded),
    quiet, shut down when the block ends."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(bundled_binary("temporal-test-server")),
        data_converter=converter or DataConverter.default, runtime=quiet_runtime())
    try:
        yield env
    finally:
        await env.shutdown()


# `until` includes what is due at that instant (see Driver.finish).
UNTIL_INCLUSIVE = timedelta(milliseconds=1)


@dataclass(order=True)
class Step:
    at: datetime
    rank: int  # scenario events before user readiness at the same instant
    n: int
    event: EventIn | None = field(compare=False, default=None)
    ready: str | None = field(compare=False, default=None)


class RunningActivities(Interceptor):
    """Counts activity executions in progress in this process."""

    def __init__(self) -> None:
        self.count = 0

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        counter = self

        class Counting(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                counter.count += 1
                try:
                    return await super().execute_activity(input)
                finally:
                    counter.count -= 1

        return Counting(next)


@dataclass
class Outcome:
    lines: list[dict[str, Any]]
    state: OrderState
    world: SimulatedWorld
    mirror: MemoryMirror
    histories: dict[str, str] = field(default_factory=dict)  # workflow id -> history JSON


def scenario_world(sc: ScenarioIn, clock: Clock, users: set[str], domains: set[str]
                   ) -> WorldConfig:
    """The scenario's world, its names checked against the order's."""
    w = sc.world
    for d in w.dns:
        if d not in domains:
            raise InvalidInput(f"world.dns.{d}", "not a vanity domain of the order")
    for who, section in ((w.users, "users"), (w.agents, "agents")):
        for addr in who:
            if addr not in users:
                raise InvalidInput(f"world.{section}.{addr}", "not a user of the order")
    return world_config(w, clock)


class Driver:
    def __init__(self, sc: ScenarioIn, settings: m.EngineSettings | None = None,
                 keep_histories: bool = False,
                 tenant: Callable[[SimulatedWorld], Any] | None = None,
                 interceptors: Sequence[Interceptor] = (),
                 keyring: tuple[str, dict[str, bytes]] | None = None) -> None:
        """`tenant` builds the tenant adapter from the world (default: the world plays
        the tenant too), e.g. GraphTenant on a local Microsoft 365 whose DNS is the
        world's; `interceptors` go on every worker, after the driver's own; `keyring`
        encrypts the payloads (default: a key of this run alone)."""
        self.sc = sc
        self.keyring = keyring or ephemeral_keyring()
        self.tenant = tenant
        self.interceptors = list(interceptors)
        self.settings = settings or m.EngineSettings()
        self.keep_histories = keep_histories
        self.clock = Clock(sc.start)
        self.start = self.clock.start
        self.complete = isinstance(sc.until, str) and sc.until.strip() == "complete"
        self.until = (self.start + MAX_COMPLETE if self.complete
                      else self.clock.at("until", sc.until))
        if self.until <= self.start:
            raise InvalidInput("until", "must be after start")
        cutover = self.clock.at("order.cutover", sc.order.cutover)
        self.spec = check_spec(to_spec(sc.order, cutover), self.start)
        users = {u.target for u in self.spec.users} | {u.source for u in self.spec.users}
        self.ready_at = {a.lower(): self.clock.at(f"world.users.{a}.ready_at", u.ready_at)
                         for a, u in sc.world.users.items()}
        users |= {u.target for e in sc.events if e.user for u in [self._user(e.user)] if u}
        self.world_cfg = scenario_world(sc, self.clock, users, set(self.spec.vanity_domains))
        self.steps: list[Step] = []
        self.n = itertools.count()
        for i, e in enumerate(sc.events):
            at = self.clock.at(f"events.{i}.at", e.at)
            if not self.start <= at <= self.until:
                raise InvalidInput(f"events.{i}.at", "outside start..until")
            self.push(Step(at, 0, next(self.n), event=e))
        self.lines: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    @staticmethod
    def _user(raw: dict[str, Any]) -> UserSpec | None:
        try:
            return UserSpec(name=raw["name"], source=raw["source"].lower(),
                            target=raw["target"].lower(), sku=raw["sku"],
                            aliases=list(raw.get("aliases", [])))
        except (KeyError, AttributeError, TypeError):
            return None

    def push(self, step: Step) -> None:
        heapq.heappush(self.steps, step)

    async def run(self) -> Outcome:
        async with time_skipping(data_converter(self.keyring)) as env:
            return await self._run(env)

    async def _run(self, env: WorkflowEnvironment) -> Outcome:
        self.env = env
        # A whole number of seconds, so that server-side second boundaries are the
        # scenario's; then skip to the scenario's start.
        gap = await env.get_current_time() - self.start
        self.offset = timedelta(seconds=math.ceil(gap.total_seconds()))
        await self.advance_to(self.start)
        s = self.settings
        world = SimulatedWorld(replace(
            self.world_cfg, verify_interval=s.timings().verify_interval,
            pass_give_up=timedelta(seconds=s.pass_give_up_s / s.time_scale)), self.offset)
        mirror = MemoryMirror()
        adapters = Adapters(self.tenant(world) if self.tenant else world, world, world, world,
                            world, mirror)
        faults = world.faults()
        order_id = "sim-1"
        spec = replace(self.spec, cutover=self.spec.cutover + self.offset)
        self.running = RunningActivities()
        async with make_worker(env.client, TASK_QUEUE, adapters, max_concurrent_activities=1000,
                               interceptors=[self.running, faults, *self.interceptors]), \
                self.pass_worker(env, world, mirror, faults):
            self.handle = await env.client.start_workflow(
                OrderWorkflow.run, m.OrderInput(order_id, spec, self.settings),
                id=order_workflow_id(order_id),
                task_queue=TASK_QUEUE)
            self.workflow_ids = [order_workflow_id(order_id),
                                 *syncs_workflow_ids(order_id, self.most_shards())]
            while self.steps:
                step = heapq.heappop(self.steps)
                await self.advance_to(step.at)
                await self.settle()
                if step.event is not None:
                    await self.perform(step, world)
                elif step.ready:
                    ready = [step.ready]
                    while self.steps and self.steps[0].ready and self.steps[0].at == step.at:
                        ready.append(heapq.heappop(self.steps).ready or "")
                    await self.update(OrderWorkflow.users_ready, m.UsersReadyInput(ready))
            end = await self.finish()
            await self.settle()
            state = await self.handle.query(OrderWorkflow.state)
            pending = await self.handle.query(OrderWorkflow.unflushed)
            pending += await self.unflushed_syncs(order_id)
            histories = await self.histories(order_id) if self.keep_histories else {}
        events = mirror.timeline(order_id) + pending
        return Outcome(self.render(events, state, end), state, world, mirror, histories)

    def pass_worker(self, env: WorkflowEnvironment, world: SimulatedWorld,
                    mirror: MemoryMirror, faults: Interceptor) -> AbstractAsyncContextManager:
        """The sync passes' own worker, when the settings give them a task queue."""
        if not self.settings.pass_task_queue:
            return nullcontext()
        return make_pass_worker(env.client, self.settings.pass_task_queue, world, mirror,
                                max_concurrent_activities=1000,
                                interceptors=[self.running, faults])

    def most_shards(self) -> int:
        """The most syncs workflows the order can have (those never started are quiet):
        its shards are decided when its syncs start, from the mailboxes it has then."""
        added = sum(1 for e in self.sc.events if e.action == "add_user")
        boxes = len(self.spec.users) + len(self.spec.shared_mailboxes) + added
        return shard_count(boxes, self.settings.syncs_window, self.settings.syncs_shard_size)

    async def unflushed_syncs(self, order_id: str) -> list[TimelineEvent]:
        out: list[TimelineEvent] = []
        for wf_id in self.workflow_ids[1:]:
            try:
                out += await self.env.client.get_workflow_handle(wf_id).query(
                    OrderSyncsWorkflow.unflushed)
            except (RPCError, WorkflowQueryFailedError):
                pass  # never started, or ended after writing everything
        return out

    async def histories(self, order_id: str) -> dict[str, str]:
        out = {}
        for wf_id in self.workflow_ids:
            try:
                history = await self.env.client.get_workflow_handle(wf_id).fetch_history()
            except Exception:  # noqa: BLE001 - the syncs workflow may never have started
                continue
            out[wf_id] = history.to_json()
        return out

    async def now(self) -> datetime:
        return await self.env.get_current_time() - self.offset

    async def advance_to(self, at: datetime) -> None:
        """Skip the server's clock to `at` (scenario time), however much work lies between."""
        gap = at - await self.now()
        if gap > timedelta(0):
            req = SleepRequest()
            req.duration.FromTimedelta(gap)
            # The server returns only once everything due before `at` ran: allow for it.
            await self.env.client.test_service.unlock_time_skipping_with_sleep(
                req, timeout=timedelta(hours=1))

    async def settle(self, deadline_s: float = 30.0) -> None:
        """Wait (real time, bounded) until the work due at the current instant is done:
        no workflow task pending, no activity waiting for a worker or running here. The
        server's clock has reached the instant, but its timers' work runs asynchronously."""
        loop = asyncio.get_running_loop()
        until = loop.time() + deadline_s
        while loop.time() < until:
            if not self.running.count and all(
                    [await self._quiet(wf_id) for wf_id in self.workflow_ids]):
                return
            await asyncio.sleep(0.005)
        raise RuntimeError("the simulation did not settle within "
                           f"{deadline_s:g} s of real time")

    async def _quiet(self, wf_id: str) -> bool:
        try:
            desc = await self.env.client.get_workflow_handle(wf_id).describe()
        except RPCError:
            return True  # the syncs workflow has not started yet
        raw = desc.raw_description
        # (the test server shows an attempt waiting out its retry delay as STARTED:
        # running ones are counted in-process instead)
        scheduled = PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
        return not raw.HasField("pending_workflow_task") and not any(
            a.state == scheduled for a in raw.pending_activities)

    async def finish(self) -> datetime | None:
        """Run to `until`; with `until: complete`, None once the order is terminal."""
        if not self.complete:
            # The server runs what is due *before* the instant it skips to: a timer due at
            # `until` itself (e.g. the cutover) could otherwise be left for after the run.
            await self.advance_to(self.until + UNTIL_INCLUSIVE)
            return self.until
        while await self.now() < self.until:
            await self.settle()
            if (await self.handle.query(OrderWorkflow.state)).terminal:
                return None
            await self.advance_to(min(self.until, await self.now() + timedelta(hours=6)))
        return self.until

    async def update(self, upd: Any, arg: Any) -> str | None:
        """Run an update; None if accepted, else the refusal's message."""
        return await act(self.handle, upd, arg)

    async def perform(self, step: Step, world: SimulatedWorld) -> None:
        e = step.event
        assert e is not None
        seq = await self.handle.query(OrderWorkflow.event_seq)
        error = await self.dispatch(e, step.at, world)
        line = {"at": iso_z(step.at), "kind": "action", "action": e.action, "by": e.by,
                "accepted": error is None}
        if error is not None:
            line["error"] = error
        self.lines.append(((step.at.replace(microsecond=0), 0, seq + 0.5), line))

    async def dispatch(self, e: EventIn, at: datetime, world: SimulatedWorld) -> str | None:
        wf = OrderWorkflow
        if e.action == "place":
            error = await self.update(wf.place, m.ActionInput(e.by))
            if error is None:
                for u in self.spec.users:
                    self.push(Step(self.ready_at.get(u.target, self.ready_at.get(u.source, at)),
                                   1, next(self.n), ready=u.target))
            return error
        if e.action == "change_cutover":
            if e.cutover is None:
                return "cutover: required"
            return await self.update(wf.change_cutover, m.ChangeCutoverInput(
                self.clock.at("cutover", e.cutover) + self.offset, e.by))
        if e.action == "add_user":
            user = self._user(e.user or {})
            if user is None:
                return "user: needs name, source, target and sku"
            error = await self.update(wf.add_user, m.AddUserInput(user, e.by))
            if error is None:
                self.push(Step(max(at, self.ready_at.get(user.target, at)), 1, next(self.n),
                               ready=user.target))
            return error
        if e.action == "remove_user":
            addr = e.address or ((e.user or {}).get("target"))
            if not addr:
                return "address: required"
            return await self.update(wf.remove_user, m.RemoveUserInput(addr, e.by))
        if e.action == "update_settings":
            state = await self.handle.query(wf.state)
            merged = {**vars(state.spec.settings), **(e.settings or {})}
            unknown = set(merged) - set(vars(OrderSettings()))
            if unknown:
                return f"settings: unknown key {sorted(unknown)[0]!r}"
            return await self.update(wf.update_settings,
                                     m.UpdateSettingsInput(OrderSettings(**merged), e.by))
        if e.action == "update_credentials":
            # The new credentials are valid before the order hears of them: the Setup
            # rerun the update triggers may reach the world before the update returns.
            was, world.cfg.credentials_valid = world.cfg.credentials_valid, True
            error = await self.update(wf.update_credentials, m.ActionInput(e.by))
            if error is not None:
                world.cfg.credentials_valid = was
            return error
        if e.action == "release_hold":
            cut = self.clock.at("cutover", e.cutover) + self.offset if e.cutover else None
            return await self.update(wf.release_hold, m.ReleaseHoldInput(cut, e.by))
        if e.action == "rerun_ctp":
            return await self.update(wf.rerun_ctp, m.RerunCtpInput(e.ctp or "", e.by))
        if e.action == "rerun_sync":
            return await self.update(wf.rerun_sync, m.RerunSyncInput(e.mailbox or "", e.pass_,
                                                                     e.by))
        if e.action == "resolve_task":
            return await self.update(wf.resolve_task, m.ResolveTaskInput(
                e.code or "", e.subject, e.reason or "", e.by))
        return await self.update(wf.cancel, m.ActionInput(e.by))

    def render(self, events: list[TimelineEvent], state: OrderState, end: datetime | None
               ) -> list[dict[str, Any]]:
        lines = list(self.lines)
        seen: set[tuple[str, int]] = set()
        for e in events:
            if (e.source, e.seq) in seen:
                continue
            seen.add((e.source, e.seq))
            at = e.at - self.offset
            key = (at.replace(microsecond=0), 0 if e.source == "order" else 1, e.seq)
            lines.append((key, {"at": iso_z(at), "kind": e.kind, **e.data}))
        lines.sort(key=lambda kv: kv[0])
        out = [line for _, line in lines]
        if end is None:  # the order ended: the timeline ends with its last event
            end = max(k[0] for k, _ in lines)
        out.append({"at": iso_z(end), "kind": "end", "status": state.status.value,
                    "on_hold": state.hold is not None, "cancelled": state.cancelled})
        return out


async def simulate(path: str) -> Outcome:
    from .scenario import load

    logging.getLogger("temporalio").setLevel(logging.ERROR)
    return await Driver(load(path)).run()


def exit_now(code: int) -> None:
    """Exit without interpreter teardown (an abort at shutdown was seen after the client)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
