"""The workflow runner: Temporal's sandbox, with each command's serialization context
looked up once instead of up to seven times.

The SDK (1.35) asks the workflow instance for a serialization context for every payload
it encodes or decodes, once per visitor pass (three on the way in, three and a store
context on the way out), and the sandboxed instance answers each question by compiling
and running a snippet inside the sandbox with its import hooks applied. For a syncs
shard that is about a millisecond per pass (its input going out, its result coming
back), on the worker's event loop and inside the workflow task: at 10,000 mailboxes it
was a quarter of the worker's time (py-spy, bench/lifecycle.py).

The answer for a command never changes: it names the workflow, or the activity a
command scheduled (its type, id and task queue), fixed when the command is created.
`CachingSandboxedWorkflowRunner` keeps the answers per instance, keyed by command; the
sandbox, its restrictions and the deadlock detector are untouched (every other call goes
to the sandboxed instance as before). Only the public `WorkflowRunner` and
`WorkflowInstance` interfaces are used.

Asking once per command still cost a sandbox round trip for every pass a shard started:
py-spy put 13 % of the worker's time there at 10,000 mailboxes. When the data converter
uses no context at all (`context_free`: `DataConverter.with_context` gives the converter
itself back, and there is no external payload storage, as for mailflip's converter),
every answer leads to the same encoding; the runner then answers None ("no context")
without asking.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import temporalio.converter
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    WorkflowSerializationContext,
)
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# answers kept per workflow run: a run schedules a few thousand commands before it
# continues as new; past this, the cache starts afresh (answers are recomputed)
MAX_CACHED = 20_000
# an activation (the workflow code's share of a workflow task) this long is logged: the
# deadlock detector fails the task at 2 s
SLOW_ACTIVATION_S = 0.5
log = logging.getLogger("mailflip.lifecycle")


@dataclass
class ActivationStats:
    """This process's workflow activations: how many, and the longest per workflow type
    and kind of work ("OrderWorkflow:query_workflow", ...: seconds in the workflow's code,
    sandbox included; the benchmark prints them)."""

    count: int = 0
    longest: dict[str, float] = field(default_factory=dict)

    def add(self, workflow_type: str, seconds: float) -> None:
        self.count += 1
        if seconds > self.longest.get(workflow_type, 0.0):
            self.longest[workflow_type] = seconds


STATS = ActivationStats()


def context_free(dc: DataConverter) -> bool:
    """True if no part of `dc` takes a serialization context and it stores no payload
    externally: then the context asked for a payload cannot change its encoding."""
    samples = (WorkflowSerializationContext("ns", "wf"),
               ActivitySerializationContext("ns", "a", "act", "q", "wf", "Wf", False))
    return dc.external_storage is None and all(dc.with_context(c) is dc for c in samples)


class _CachingInstance(WorkflowInstance):
    def __init__(self, inner: WorkflowInstance, context_free: bool) -> None:
        self.inner = inner
        self.context_free = context_free
        self.contexts: dict[Any, temporalio.converter.SerializationContext | None] = {}
        self.stores: dict[Any, Any] = {}

    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        t0 = time.perf_counter()
        try:
            return self.inner.activate(act)
        finally:
            took = time.perf_counter() - t0
            info = self.inner.get_info()
            kinds = sorted({j.WhichOneof("variant") or "" for j in act.jobs})
            replay = " (replay)" if act.is_replaying else ""  # e.g. a query after eviction
            STATS.add(f"{info.workflow_type}:{'+'.join(kinds)}{replay}", took)
            if took >= SLOW_ACTIVATION_S:
                log.warning("workflow %s: an activation took %.2f s (%d jobs); the deadlock "
                            "detector fails a task at 2 s", info.workflow_id, took,
                            len(act.jobs))

    def get_serialization_context(self, command_info: Any
                                  ) -> temporalio.converter.SerializationContext | None:
        if self.context_free:
            return None
        return _cached(self.contexts, command_info, self.inner.get_serialization_context)

    def get_external_store_context(self, command_info: Any) -> Any:
        if self.context_free:
            return None  # (ignored by a converter with no external storage)
        return _cached(self.stores, command_info, self.inner.get_external_store_context)

    def get_info(self) -> Any:
        return self.inner.get_info()

    def get_thread_id(self) -> int | None:
        return self.inner.get_thread_id()  # the deadlock detector's stack trace


def _cached(cache: dict[Any, Any], command_info: Any, ask: Any) -> Any:
    """The answer for this command: asked of the sandbox once. A command is its (type,
    sequence number); None is "the workflow itself"."""
    key = None if command_info is None else (command_info.command_type,
                                              command_info.command_seq)
    if key not in cache:
        if len(cache) >= MAX_CACHED:
            cache.clear()
        cache[key] = ask(command_info)
    return cache[key]


@dataclass(frozen=True)
class CachingSandboxedWorkflowRunner(SandboxedWorkflowRunner):
    """`context_free`: the worker's data converter passed `context_free()`."""

    context_free: bool = False
    # Every module passed through: a workflow run imports nothing anew. The sandbox
    # still refuses what is not deterministic (the clock, randomness, I/O), but no
    # cached run holds its own copy of the workflow modules for every full garbage
    # collection to walk. At 1x10,000 --busy-core (bench/lifecycle.py, single runs)
    # the longest full collection went from 1.14 s to 0.60 s and the longest workflow
    # task from 1.81 s to 1.04 s and 0.78 s. mailflip's workflow modules keep no
    # module-level state. (It also passes `cryptography` through, whose Rust extension
    # cannot be imported twice.)
    restrictions: SandboxRestrictions = \
        SandboxRestrictions.default.with_passthrough_all_modules()

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _CachingInstance(super().create_instance(det), self.context_free)
