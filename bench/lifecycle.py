"""Whole order lifecycle on Temporal: mailflip against the shared "floor" script.

For each case ORDERSxMAILBOXES, mailflip's real OrderWorkflow (+ its OrderSyncsWorkflow)
runs every order from placement to "Migration Complete" against the simulated world;
then the floor (``lifecycle_floor.py``: the same shape of timers, activities and
passes with no logic) runs the same case on the same kind of server. Printed: wall
time, history events per workflow run, and mailflip / floor.

* ``--server ts`` (default): Temporal's time-skipping test server, real lifecycle
  durations; each pass "takes" 30 simulated minutes (a server-side retry delay).
* ``--server dev``: the Temporal dev server in real time; every lifecycle duration is
  divided by ``--time-scale`` (45 days -> ~4 s at 1e6) and passes return at once,
  while the floor shrinks its timers to 1 ms.

Usage::

    .venv/bin/python bench/lifecycle.py --server ts --cases 1x100,10x100
    .venv/bin/python bench/lifecycle.py --server dev --cases 1x100,1x1000,1x10000

The floor script is looked up in $MAILFLIP_SHARED_BENCH (default: ../shared/bench next
to the repository). One JSON line per case and a Markdown table go to stdout;
``--out NAME`` also appends the JSON lines to bench/results/NAME.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from cryptography.fernet import Fernet
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from mailflip.config import get_settings
from mailflip.domain.model import OrderSpec, Poc, SourceHost, UserSpec
from mailflip.domain.names import Status
from mailflip.domain.syncs import shard_count
from mailflip.lifecycle.binaries import bundled_binary
from mailflip.lifecycle.client import act
from mailflip.lifecycle.converter import EncryptionCodec, data_converter
from mailflip.lifecycle.ids import order_workflow_id, syncs_workflow_id, syncs_workflow_ids
from mailflip.lifecycle.order import messages as m
from mailflip.lifecycle.order.workflow import OrderWorkflow
from mailflip.lifecycle.runner import STATS
from mailflip.lifecycle.worker import (
    Adapters,
    freeze_startup_heap,
    make_pass_worker,
    make_worker,
)
from mailflip.mail.port import PassResult
from mailflip.simulate.runner import exit_now, quiet_runtime
from mailflip.simulate.world import SimulatedWorld, WorldConfig
from mailflip.store.memory import MemoryMirror
from mailflip.store.port import Mirror
from mailflip.store.repositories import create_store
from mailflip.store.sql_mirror import SqlMirror

# The client and the bench's pass workers (other processes) seal payloads alike.
KEYRING = get_settings().payload_keyring()
CODEC = EncryptionCodec(*KEYRING)


def failure_text(failure: Any) -> tuple[str, str]:
    """A failure's (message, stack trace): they travel encoded (lifecycle/converter.py)."""
    if not failure.HasField("encoded_attributes"):
        return failure.message, failure.stack_trace
    attrs = json.loads(CODEC.open(failure.encoded_attributes).data)
    return attrs.get("message", ""), attrs.get("stack_trace", "")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TASK_QUEUE = "mailflip-bench"
PASS_QUEUE = "mailflip-bench-passes"
PASSES_PER_MAILBOX = 10  # initial, 3 resyncs, final, delta, 4 sweeps (40-day lead)
LEAD = timedelta(days=40)  # cutover = placement + 40 days, as in the floor
DOMAIN = "contoso.com"
ACTIVITY_ATTEMPTS = 3  # an activity failing more often than this means a broken bench


class CountingWorld(SimulatedWorld):
    """The simulated world, counting the sync passes that completed."""

    passes = 0

    async def run_pass(self, order_id: str, mailbox: str, source: str, pass_name: str,
                       progress: Callable[[dict[str, Any]], None],
                       report_subjects: bool = False, resumed: bool = False) -> PassResult:
        res = await super().run_pass(order_id, mailbox, source, pass_name, progress,
                                     report_subjects, resumed)
        self.passes += 1
        return res


def bench_mirror(args: argparse.Namespace, tmp: str) -> Mirror:
    """The store the worker mirrors orders to: SQLite as in a deployment (the default), or
    in memory, where every timeline event stays in the worker's heap (and its garbage
    collections grow with it)."""
    if args.store == "memory":
        return MemoryMirror()
    return SqlMirror(create_store(store_url(tmp), secret_key=Fernet.generate_key().decode()))


def store_url(tmp: str) -> str:
    return f"sqlite:///{tmp}/mailflip.db"


def floor_script() -> Path:
    base = os.environ.get("MAILFLIP_SHARED_BENCH") or str(ROOT.parent / "shared" / "bench")
    path = Path(base) / "lifecycle_floor.py"
    if not path.is_file():
        raise SystemExit(f"lifecycle: floor script {path} not found; set "
                         "MAILFLIP_SHARED_BENCH to the shared bench directory")
    return path


def parse_cases(text: str) -> list[tuple[int, int]]:
    try:
        cases = [tuple(int(x) for x in c.split("x")) for c in text.split(",") if c]
    except ValueError:
        cases = []
    if not cases or any(len(c) != 2 or min(c) < 1 for c in cases):
        raise SystemExit(f"lifecycle: --cases {text!r}: expected e.g. 1x100,10x100")
    return [(c[0], c[1]) for c in cases]


def order_spec(order: int, mailboxes: int, cutover: datetime) -> OrderSpec:
    """An order whose users are ready at once (admin credentials: no passwords)."""
    users = [UserSpec(f"User {j}", f"o{order}u{j}@{DOMAIN}", f"o{order}u{j}@{DOMAIN}", "SPB")
             for j in range(mailboxes)]
    return OrderSpec(partner="bench-msp", customer=f"Customer {order}",
                     poc=Poc("Pat Doe", f"pat@{DOMAIN}"), cutover=cutover,
                     initial_domain="contoso.onmicrosoft.com",
                     source=SourceHost(host=f"mail.{DOMAIN}", admin_credentials=True),
                     vanity_domains=[DOMAIN], users=users)


async def start_env(server: str) -> WorkflowEnvironment:
    if server == "ts":
        return await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=str(bundled_binary("temporal-test-server")),
            data_converter=data_converter(KEYRING),
            runtime=quiet_runtime())
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.prefix) / "bin" / "temporal"),
        data_converter=data_converter(KEYRING), runtime=quiet_runtime())


async def run_histories(client: Client, wf_id: str) -> list[Sequence[Any]]:
    """Events of every run of `wf_id`, newest first, following continue-as-new back."""
    runs: list[Sequence[Any]] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(wf_id, run_id=run_id).fetch_history()
        runs.append(history.events)
        attrs = history.events[0].workflow_execution_started_event_attributes
        if not attrs.continued_execution_run_id:
            return runs
        run_id = attrs.continued_execution_run_id


def task_stats(runs: list[Sequence[Any]]) -> dict[str, Any]:
    """Over every run of one workflow: the longest workflow task (WorkflowTaskStarted to
    WorkflowTaskCompleted or Failed, in server time), the failed tasks' messages, and the
    largest input crossing continue-as-new (bytes on the wire, and uncompressed)."""
    longest, failures, can_wire, can_raw = 0.0, [], 0, 0
    # (seconds, run, event id, what the task handled: event types since the last task)
    top: list[tuple[float, int, int, str]] = []
    for n, events in enumerate(runs):
        started, since, types = None, Counter[str](), {}
        for e in events:
            if e.HasField("activity_task_scheduled_event_attributes"):
                types[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
            if e.HasField("activity_task_completed_event_attributes"):  # which activity
                since[types.get(e.activity_task_completed_event_attributes.scheduled_event_id,
                                "?") + ":done"] += 1
                continue
            if e.HasField("workflow_task_started_event_attributes"):
                started = e.event_time.ToDatetime()
                handled = ",".join(f"{k}x{v}" for k, v in sorted(since.items()))
                since = Counter()
            elif started is not None and (
                    e.HasField("workflow_task_completed_event_attributes")
                    or e.HasField("workflow_task_failed_event_attributes")):
                took = (e.event_time.ToDatetime() - started).total_seconds()
                longest = max(longest, took)
                top = sorted([*top, (round(took, 3), n, e.event_id, handled)], reverse=True)[:5]
                started = None
            elif not e.HasField("workflow_task_scheduled_event_attributes"):
                since[EventType.Name(e.event_type).replace("EVENT_TYPE_", "")
                      .replace("WORKFLOW_EXECUTION_", "").replace("_", "").lower()] += 1
                if e.HasField("workflow_task_failed_event_attributes"):
                    failures.append(failure_text(
                        e.workflow_task_failed_event_attributes.failure)[0])
            if e.HasField("workflow_execution_continued_as_new_event_attributes"):
                payloads = e.workflow_execution_continued_as_new_event_attributes.input.payloads
                can_wire = max(can_wire, sum(p.ByteSize() for p in payloads))
                can_raw = max(can_raw, sum(CODEC.open(p).ByteSize() for p in payloads))
    return {"longest_task_s": round(longest, 3), "failed_tasks": failures, "top_tasks": top,
            "can_bytes": can_wire, "can_raw_bytes": can_raw}


async def first_task_failure(client: Client, wf_ids: list[str]) -> str | None:
    """The first failed workflow task of these workflows' current runs, if any."""
    for wf_id in wf_ids:
        try:
            history = await client.get_workflow_handle(wf_id).fetch_history()
        except RPCError:
            continue  # not started yet (a syncs workflow)
        started = None
        for e in history.events:
            if e.HasField("workflow_task_started_event_attributes"):
                started = e
            if e.HasField("workflow_task_failed_event_attributes"):
                a = e.workflow_task_failed_event_attributes
                message, trace = failure_text(a.failure)
                stack = trace.strip().splitlines()[-6:]
                took = (e.event_time.ToDatetime() - started.event_time.ToDatetime()
                        ).total_seconds() if started is not None else None
                between = Counter(EventType.Name(x.event_type).replace("EVENT_TYPE_", "")
                                  for x in history.events
                                  if started is not None and started.event_id < x.event_id
                                  < e.event_id)
                if os.environ.get("MAILFLIP_BENCH_DEBUG"):
                    for x in history.events[max(0, e.event_id - 12):e.event_id + 3]:
                        print("DEBUG", wf_id, x.event_id, EventType.Name(x.event_type),
                              x.event_time.ToDatetime().time(), file=sys.stderr)
                return (f"{wf_id}: workflow task failed, {WorkflowTaskFailedCause.Name(a.cause)} "
                        f"after {took} s, "
                        f"{dict(between)} {message[:400]} {' | '.join(stack)}")
    return None


async def watch_task_failures(client: Client, wf_ids: list[str], every_s: float = 5.0) -> str:
    """Returns as soon as a workflow task of these workflows fails (a stalled order): a
    pending workflow task on its second attempt or later (describe is cheap; the history
    is read only then, for the failure's text). An activity failing again and again
    stalls the order as well (the bench's world never fails one): reported the same way."""
    while True:
        for wf_id in wf_ids:
            try:
                raw = (await client.get_workflow_handle(wf_id).describe()).raw_description
            except RPCError:
                continue  # not started (a syncs shard)
            if raw.pending_workflow_task.attempt > 1:
                failure = await first_task_failure(client, [wf_id])
                if failure:
                    return failure
            for pending in raw.pending_activities:
                if pending.attempt > ACTIVITY_ATTEMPTS and pending.HasField("last_failure"):
                    message, trace = failure_text(pending.last_failure)
                    return (f"{wf_id}: activity {pending.activity_type.name} failed "
                            f"{pending.attempt - 1} times: {message[:400]} "
                            f"{' | '.join(trace.strip().splitlines()[-4:])}")
        await asyncio.sleep(every_s)  # a poll interval: histories have no push


async def stuck(client: Client, wf_ids: list[str]) -> dict[str, str]:
    """Why workflows made no progress: their last workflow task failure, if any."""
    out = {}
    for wf_id in wf_ids:
        try:
            history = await asyncio.wait_for(
                client.get_workflow_handle(wf_id).fetch_history(), 30)
        except Exception as exc:  # noqa: BLE001 - a diagnosis only
            out[wf_id] = f"history unavailable: {exc}"
            continue
        why = []
        for e in history.events:
            if e.HasField("workflow_task_failed_event_attributes"):
                why = [failure_text(e.workflow_task_failed_event_attributes.failure)[0][:300]]
            elif e.HasField("workflow_task_timed_out_event_attributes"):
                why = why[:1] + ["then workflow task timed out"]
        if why:
            out[wf_id] = "; ".join(why)
    return out


async def run_mailflip(args: argparse.Namespace, orders: int, mailboxes: int) -> dict[str, Any]:
    rec: dict[str, Any] = dict(impl="mailflip", server=args.server, orders=orders,
                               mailboxes=mailboxes, window=args.window,
                               can_every=args.can_every, max_acts=args.max_acts)
    scale = args.time_scale if args.server == "dev" else 1.0
    settings = m.EngineSettings(syncs_window=args.window, syncs_continue_every=args.can_every,
                                time_scale=scale, mirror=not args.no_mirror,
                                pass_task_queue=PASS_QUEUE if args.pass_worker else "")
    rec["pass_worker"] = args.pass_worker
    pauses = GcPauses()
    if os.environ.get("BENCH_GC_SAVEALL"):  # (diagnosis: keep garbage, to see what it is)
        gc.set_debug(gc.DEBUG_SAVEALL)
    rec["store"] = args.store
    t_srv = time.perf_counter()
    passes: subprocess.Popen[bytes] | None = None
    tmp = tempfile.mkdtemp(prefix="mailflip-bench-")
    env = await start_env(args.server)
    rec["server_start_s"] = round(time.perf_counter() - t_srv, 2)
    try:
        start = await env.get_current_time()
        world = CountingWorld(WorldConfig(
            licenses={"SPB": orders * mailboxes}, verified_domains=[DOMAIN],
            mx_to_m365_at={DOMAIN: start},
            sync_duration=timedelta(minutes=30) if args.server == "ts" else timedelta(0),
        ), timedelta(0))
        adapters = Adapters(world, world, world, world, world, bench_mirror(args, tmp))
        passes = start_pass_worker(args, env, tmp) if args.pass_worker else None
        # (counted in the pass worker's process: from the histories instead)
        worker = make_worker(env.client, TASK_QUEUE, adapters,
                             max_concurrent_activities=args.max_acts)
        rec["frozen_at_start"] = freeze_startup_heap()  # as `mailflip worker` does
        async with worker:
            t0 = time.perf_counter()
            shards = shard_count(mailboxes, settings.syncs_window, settings.syncs_shard_size)
            rec["syncs_shards"] = shards
            handles = []
            for i in range(orders):
                cutover = await env.get_current_time() + LEAD / scale
                handle = await env.client.start_workflow(
                    OrderWorkflow.run,
                    m.OrderInput(f"o{i}", order_spec(i, mailboxes, cutover), settings),
                    id=order_workflow_id(f"o{i}"), task_queue=TASK_QUEUE)
                handles.append(handle)
                try:
                    refused = await act(handle, OrderWorkflow.place, m.ActionInput("partner"))
                    # Updates at the order's size: every user ready in one Update (as an
                    # import does), then a cutover change (one hour later)
                    refused = refused or await act(handle, OrderWorkflow.users_ready,
                                                   m.UsersReadyInput([
                                                       f"o{i}u{j}@{DOMAIN}"
                                                       for j in range(mailboxes)]))
                    refused = refused or await act(handle, OrderWorkflow.change_cutover,
                                                   m.ChangeCutoverInput(
                                                       cutover + timedelta(hours=1) / scale))
                except RPCError as exc:
                    refused = str(exc)
                if refused:
                    rec.update(status=f"FAILED: order o{i} not placed: {refused}",
                               stuck=await stuck(env.client, [
                               handle.id, *syncs_workflow_ids(f"o{i}", shards)]))
                    print(json.dumps(rec), flush=True)
                    exit_now(0)  # as after a timeout, below

            wf_ids = [h.id for h in handles] + [
                w for i in range(orders) for w in syncs_workflow_ids(f"o{i}", shards)]

            async def wait_all() -> list[m.OrderResult]:
                """Every order's result, or FailedTask as soon as a workflow task fails (or an
                activity keeps failing)."""
                results = asyncio.ensure_future(
                    asyncio.gather(*(h.result() for h in handles)))
                watch = asyncio.ensure_future(watch_task_failures(env.client, wf_ids))
                done, _ = await asyncio.wait([cast("asyncio.Future[Any]", results), watch],
                                             return_when=asyncio.FIRST_COMPLETED)
                watch.cancel()
                if watch in done:
                    results.cancel()
                    raise FailedTask(watch.result())
                return results.result()

            async def heap_probe() -> None:  # (diagnosis: what a full collection walks)
                await asyncio.sleep(args.heap_probe)
                heap = Counter(type(o).__name__ for o in gc.get_objects())
                rec["heap_probe"] = [sum(heap.values()), heap.most_common(15)]

            if args.heap_probe:
                probe = asyncio.ensure_future(heap_probe())  # noqa: F841 (kept alive)
            try:
                if args.server == "ts":
                    # skip time for the whole wait, not per result() call
                    # (the time-skipping environment's own method: not on the base class)
                    async with cast(Any, env).time_skipping_unlocked():
                        with env.auto_time_skipping_disabled():
                            await asyncio.wait_for(wait_all(), args.timeout)
                else:
                    await asyncio.wait_for(wait_all(), args.timeout)
            except FailedTask as failed:
                rec.update(status=f"FAILED: {failed}",
                           passes_at_failure=world.passes)
                print(json.dumps(rec), flush=True)
                exit_now(0)
            except TimeoutError:
                rec.update(status=f"SKIPPED: exceeded {args.timeout:g}s",
                           passes_at_timeout=world.passes,
                           stuck=await stuck(env.client, wf_ids))
                # A stuck worker may not shut down: report now; the parent process
                # kills this process group (and its Temporal server).
                print(json.dumps(rec), flush=True)
                exit_now(0)
            wall = time.perf_counter() - t0
            incomplete = []
            for h in handles:
                state = await h.query(OrderWorkflow.state)
                if state.status is not Status.COMPLETE or not state.completed:
                    incomplete.append(f"{h.id}: {state.status.value}")
        per_run: list[int] = []
        kinds: Counter[str] = Counter()
        tasks: dict[str, dict[str, Any]] = {}
        for i in range(orders):  # the syncs shards of an order together: "syncs-o0"
            for key, ids in ((order_workflow_id(f"o{i}"), [order_workflow_id(f"o{i}")]),
                             (syncs_workflow_id(f"o{i}"), syncs_workflow_ids(f"o{i}", shards))):
                runs = [r for wf_id in ids for r in await run_histories(env.client, wf_id)]
                tasks[key] = task_stats(runs)
                for events in runs:
                    per_run.append(len(events))
                    kinds.update(e.activity_task_scheduled_event_attributes.activity_type.name
                                 for e in events
                                 if e.HasField("activity_task_scheduled_event_attributes"))
        longest = max(tasks.items(), key=lambda kv: kv[1]["longest_task_s"])
        failed_tasks = {w: t["failed_tasks"][:3] for w, t in tasks.items() if t["failed_tasks"]}
        aim = task_aim(mailboxes)
        rec.update(
            longest_task_s=longest[1]["longest_task_s"], longest_task_in=longest[0],
            longest_task_aim_s=aim,
            longest_task_ok=longest[1]["longest_task_s"] <= aim,
            longest_task_by_workflow={w: t["longest_task_s"] for w, t in tasks.items()},
            # (seconds, run counted back from the newest, event id, events since last task)
            top_tasks={w: t["top_tasks"] for w, t in tasks.items()},
            can_bytes=max(t["can_bytes"] for t in tasks.values()),
            can_raw_bytes=max(t["can_raw_bytes"] for t in tasks.values()),
            failed_tasks=failed_tasks)
        rec.update(
            status=("ok" if not incomplete else f"INCOMPLETE: {len(incomplete)} orders")
            + ("" if not failed_tasks else
               f"; {sum(len(f) for f in failed_tasks.values())} failed tasks")
            + ("" if rec["longest_task_ok"] else
               f"; longest task {rec['longest_task_s']} s > aim {aim} s"),
            wall_s=round(wall, 3),
            # the workflow code's own share of a task (this process's activations)
            activation_longest_s={k: round(v, 3) for k, v in STATS.longest.items()},
            gc=pauses.record(),
            activations=STATS.count,
            passes=kinds["run_sync_pass"] if args.pass_worker else world.passes,
            passes_expected=orders * mailboxes * PASSES_PER_MAILBOX,
            runs=len(per_run), max_events_per_run=max(per_run), total_events=sum(per_run),
            events_per_s=round(sum(per_run) / wall, 1),
            activities=dict(kinds.most_common()), incomplete=incomplete[:10],
            time_scale=scale, sim_timeline_s=round(
                (LEAD + timedelta(days=5)).total_seconds() / scale, 2) if scale > 1 else None,
        )
        return rec
    finally:
        if passes is not None:
            passes.kill()
        await env.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


class GcPauses:
    """The garbage collector's pauses in this process, per generation: a full collection
    over every workflow's state stops all threads, workflow tasks included."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        self.freed = [0, 0, 0]  # objects the longest collection of each generation freed
        self.total = 0.0
        self.t0 = 0.0
        gc.callbacks.append(self.callback)

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.t0 = time.perf_counter()
            return
        took, gen = time.perf_counter() - self.t0, info["generation"]
        self.count[gen] += 1
        self.total += took
        if took > self.longest[gen]:
            self.longest[gen] = took
            self.freed[gen] = info["collected"]

    def record(self) -> dict[str, Any]:
        heap = Counter(type(o).__name__ for o in gc.get_objects())
        return {"collections": self.count, "longest_s": [round(x, 3) for x in self.longest],
                "freed_by_longest": self.freed,
                "total_s": round(self.total, 2), "tracked_at_end": sum(heap.values()),
                "frozen": gc.get_freeze_count(), "most": heap.most_common(8),
                "garbage": Counter(type(o).__name__ for o in gc.garbage).most_common(12)}


class FailedTask(Exception):
    """A workflow task failed: the order would stall; reported at once."""


def task_aim(mailboxes: int) -> float:
    """Issue 14: the longest workflow task <= 0.5 s at 10,000 mailboxes, <= 1 s at 20,000."""
    return 0.5 if mailboxes <= 10_000 else 1.0


def busy_core() -> subprocess.Popen[bytes]:
    """A CPU-bound process occupying one core beside the bench (--busy-core)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            start_new_session=True)


def venv_prefix() -> Path:
    venv = ROOT / ".venv"
    return venv if (venv / "bin" / "python").exists() else Path(sys.prefix)


def run_json(cmd: list[str], deadline: float, cwd: str) -> tuple[dict[str, Any] | None, str]:
    """Run `cmd` in its own process group; its last JSON line, or None and why not.
    The group (with any Temporal server it started) is killed afterwards."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=cwd, start_new_session=True,
                            env={**os.environ, "TSV": str(venv_prefix())})
    hung = False
    try:
        out, err = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        hung = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    # A JSON line printed before a crash at interpreter exit (seen with the Temporal
    # runtime) is a valid result despite the exit code.
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if lines:
        return json.loads(lines[-1]), ""
    why = f"hung past {deadline:g}s" if hung else f"exit {proc.returncode}"
    return None, why + ": " + " / ".join(err.strip().splitlines()[-3:])


def start_pass_worker(args: argparse.Namespace, env: WorkflowEnvironment, tmp: str
                      ) -> subprocess.Popen[bytes]:
    """The sync passes in a process of their own (as `mailflip worker --passes` runs
    them), on the same server, writing the pass log to the same store."""
    target = env.client.service_client.config.target_host
    store = [] if args.store == "memory" else ["--pass-store", store_url(tmp)]
    return subprocess.Popen(
        [str(venv_prefix() / "bin" / "python"), str(Path(__file__).resolve()),
         "--serve-passes", target, "--max-acts", str(args.max_acts), *store], cwd=str(ROOT),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def serve_passes(target: str, max_acts: int, store: str | None) -> None:
    client = await Client.connect(target, data_converter=data_converter(KEYRING),
                                  runtime=quiet_runtime())
    world = CountingWorld(WorldConfig(sync_duration=timedelta(0)), timedelta(0))
    # (the store's key encrypts credentials, which passes do not write)
    mirror: Mirror = MemoryMirror() if store is None else SqlMirror(
        create_store(store, secret_key=Fernet.generate_key().decode()))
    worker = make_pass_worker(client, PASS_QUEUE, world, mirror,
                              max_concurrent_activities=max_acts)
    freeze_startup_heap()
    async with worker:
        await asyncio.Event().wait()  # until the bench kills this process


def common_args(args: argparse.Namespace, case: str) -> list[str]:
    return ["--server", args.server, "--cases", case, "--window", str(args.window),
            "--can-every", str(args.can_every), "--max-acts", str(args.max_acts),
            "--timeout", str(args.timeout),
            *([] if args.pass_worker else ["--passes-in-process"])]


def run_case_process(args: argparse.Namespace, case: str) -> dict[str, Any]:
    """mailflip for one case in a fresh process (like the floor)."""
    cmd = [str(venv_prefix() / "bin" / "python"), str(Path(__file__).resolve()),
           *common_args(args, case), "--time-scale", str(args.time_scale), "--child",
           "--store", args.store, "--heap-probe", str(args.heap_probe)]
    if args.no_mirror:
        cmd.append("--no-mirror")
    rec, why = run_json(cmd, args.timeout + 300, str(ROOT))
    return rec or dict(impl="mailflip", status=f"FAILED: {why}")


def run_floor(args: argparse.Namespace, case: str) -> dict[str, Any]:
    """The floor for one case, as a subprocess with the project's Python."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(venv_prefix() / "bin" / "python"), str(floor_script()),
               *common_args(args, case), "--out", str(Path(tmp) / "floor.jsonl")]
        rec, why = run_json(cmd, args.timeout + 300, tmp)
    if rec is None:
        return dict(impl="floor", status=f"FAILED: {why}")
    rec["impl"] = "floor"
    return rec


def ratio(a: dict[str, Any], b: dict[str, Any], key: str = "wall_s") -> float | None:
    if a.get(key) and b.get(key):
        return round(a[key] / b[key], 2)
    return None


def per_pass(mf: dict[str, Any], fl: dict[str, Any]) -> float | None:
    """The wall-time ratio per completed pass (mailflip may run fewer passes than the
    floor when a compressed timeline makes phases overlap, see README)."""
    r = ratio(mf, fl)
    if r is None or not mf.get("passes"):
        return None
    return round(r * mf["passes_expected"] / mf["passes"], 2)


def table(rows: list[dict[str, Any]]) -> str:
    def cell(v: Any) -> str:
        return "-" if v is None else str(v)

    out = ["| case | server | mailflip wall s | floor wall s | ratio | ratio per pass "
           "| longest workflow task s | continue-as-new KB (raw) "
           "| mailflip max events/run | runs | floor max events/run | passes | status |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mf, fl = r, r["floor"]
        status = mf["status"] if fl.get("status") == "ok" else \
            f"{mf['status']}; floor {fl['status']}"
        passes = f"{mf['passes']}/{mf['passes_expected']}" if "passes" in mf else None
        can = (f"{mf['can_bytes'] // 1024} ({mf['can_raw_bytes'] // 1024})"
               if mf.get("can_bytes") else None)
        out.append("| " + " | ".join(cell(v) for v in (
            r["case"], r["server"], mf.get("wall_s"), fl.get("wall_s"), r["ratio"],
            r["ratio_per_pass"], mf.get("longest_task_s"), can,
            mf.get("max_events_per_run"), mf.get("runs"), fl.get("max_events_per_run"),
            passes, status)) + " |")
    return "\n".join(out)


def spread(rows: list[dict[str, Any]], key: str) -> str:
    vals = sorted(r[key] for r in rows)
    return f"{statistics.median(vals):g} ({vals[0]:g}-{vals[-1]:g})"


def medians(rows: list[dict[str, Any]]) -> str:
    """Per case: the median of the runs with their spread (min-max)."""
    out = ["| case | runs ok | wall s, median (min-max) | longest workflow task s, median "
           "(min-max) | continue-as-new KB |", "|---|---|---|---|---|"]
    for case in dict.fromkeys(r["case"] for r in rows):
        ok = [r for r in rows if r["case"] == case and r.get("wall_s")]
        if not ok:
            out.append(f"| {case} | 0/{sum(r['case'] == case for r in rows)} | - | - | - |")
            continue

        out.append(f"| {case} | {len(ok)}/{sum(r['case'] == case for r in rows)} | "
                   f"{spread(ok, 'wall_s')} | {spread(ok, 'longest_task_s')} | "
                   f"{max(r['can_bytes'] for r in ok) // 1024} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", choices=["ts", "dev"], default="ts")
    ap.add_argument("--cases", default="1x100,10x100,1x1000",
                    help="comma list of ORDERSxMAILBOXES")
    ap.add_argument("--window", type=int, default=500, help="syncs window (both)")
    ap.add_argument("--can-every", type=int, default=1000,
                    help="syncs continue-as-new every N pass completions (both)")
    ap.add_argument("--max-acts", type=int, default=500,
                    help="worker max_concurrent_activities (both)")
    ap.add_argument("--time-scale", type=float, default=1e6,
                    help="dev server: divide every lifecycle duration by this")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="seconds per case and implementation; slower ones are skipped")
    ap.add_argument("--store", choices=["sqlite", "memory"], default="sqlite",
                    help="the store orders are mirrored to (default: SQLite, as deployed)")
    ap.add_argument("--no-mirror", action="store_true",
                    help="mailflip without its store mirror (to measure what it costs)")
    ap.add_argument("--no-floor", action="store_true", help="mailflip only (profiling)")
    ap.add_argument("--busy-core", action="store_true",
                    help="run a CPU-bound process on one core beside the bench")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each case this many times (medians with spread)")
    ap.add_argument("--out", help="also append JSON lines to bench/results/OUT")
    ap.add_argument("--passes-in-process", dest="pass_worker", action="store_false",
                    help="sync passes in the workflows' worker process, not in a pass "
                         "worker process of their own (the default, as big orders are "
                         "deployed: MAILFLIP_PASS_TASK_QUEUE)")
    ap.add_argument("--pass-worker", dest="pass_worker", action="store_true",
                    help=argparse.SUPPRESS)  # (the default; earlier notes' commands use it)
    ap.add_argument("--pass-store", help=argparse.SUPPRESS)
    ap.set_defaults(pass_worker=True)
    ap.add_argument("--heap-probe", type=float, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve-passes", metavar="TARGET", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_passes:
        logging.getLogger("temporalio").setLevel(logging.ERROR)
        asyncio.run(serve_passes(args.serve_passes, args.max_acts, args.pass_store))
        return
    cases = parse_cases(args.cases)
    if args.child:  # one mailflip case, in a process of its own
        logging.getLogger("temporalio").setLevel(logging.ERROR)
        rec = asyncio.run(run_mailflip(args, *cases[0]))
        print(json.dumps(rec), flush=True)
        exit_now(0)  # skip interpreter teardown (see mailflip.simulate.runner.exit_now)
    if not args.no_floor:
        floor_script()
    rows = []
    busy = busy_core() if args.busy_core else None
    try:
        for orders, mailboxes in cases:
            case = f"{orders}x{mailboxes}"
            for n in range(args.repeat):
                mf = run_case_process(args, case)
                fl = {"status": "not run"} if args.no_floor else run_floor(args, case)
                row = dict(case=case, ratio=ratio(mf, fl), ratio_per_pass=per_pass(mf, fl),
                           **mf, floor=fl, python=platform.python_version(), run=n + 1,
                           busy_core=args.busy_core,
                           at=datetime.now().isoformat(timespec="seconds"))
                row["server"] = args.server
                rows.append(row)
                line = json.dumps(row)
                print(line, flush=True)
                if args.out:
                    RESULTS.mkdir(parents=True, exist_ok=True)
                    with open(RESULTS / Path(args.out).name, "a") as f:
                        f.write(line + "\n")
    finally:
        if busy is not None:
            busy.kill()
    print()
    print(table(rows))
    if args.repeat > 1:
        print()
        print(medians(rows))


if __name__ == "__main__":
    main()
