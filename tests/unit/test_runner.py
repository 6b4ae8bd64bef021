"""The caching workflow runner asks the sandboxed instance once per command for its
serialization and store contexts, and passes everything else straight through."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from temporalio.api.enums.v1 import CommandType
from temporalio.worker import WorkflowInstance
from temporalio.worker._command_aware_visitor import CommandInfo

from mailflip.lifecycle.runner import STATS, _CachingInstance


class Recording(WorkflowInstance):
    def __init__(self) -> None:
        self.asked: list[tuple[str, Any]] = []

    def activate(self, act: Any) -> Any:
        self.asked.append(("activate", act))
        return "completion"

    def get_serialization_context(self, command_info: Any) -> Any:
        self.asked.append(("context", command_info))
        return ("context-for", command_info)

    def get_external_store_context(self, command_info: Any) -> Any:
        self.asked.append(("store", command_info))
        return ("store-for", command_info)

    def get_info(self) -> Any:
        return SimpleNamespace(workflow_type="OrderWorkflow", workflow_id="order-o1")

    def get_thread_id(self) -> int | None:
        return 7


def test_each_commands_context_is_asked_for_once_and_answered_the_same():
    inner = Recording()
    inst = _CachingInstance(inner)
    sched = CommandInfo(CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, 3)
    other = CommandInfo(CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, 4)
    for _ in range(3):  # the SDK's three visitor passes
        assert inst.get_serialization_context(sched) == ("context-for", sched)
        assert inst.get_serialization_context(None) == ("context-for", None)
    assert inst.get_serialization_context(other) == ("context-for", other)
    assert inst.get_external_store_context(sched) == ("store-for", sched)
    assert inst.get_external_store_context(sched) == ("store-for", sched)
    assert inner.asked == [("context", sched), ("context", None), ("context", other),
                           ("store", sched)]
    act = SimpleNamespace(jobs=[])
    assert inst.activate(act) == "completion" and inner.asked[-1] == ("activate", act)
    assert (inst.get_info().workflow_id, inst.get_thread_id()) == ("order-o1", 7)
    assert STATS.longest["OrderWorkflow:"] >= 0  # activations are timed (here: no jobs)
