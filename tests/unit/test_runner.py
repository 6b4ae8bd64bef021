"""The caching workflow runner asks the sandboxed instance once per command for its
serialization and store contexts, and passes everything else straight through."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

from temporalio.api.enums.v1 import CommandType
from temporalio.converter import DataConverter, PayloadCodec, WithSerializationContext
from temporalio.worker import WorkflowInstance
from temporalio.worker._command_aware_visitor import CommandInfo

from mailflip.lifecycle.converter import data_converter, ephemeral_keyring
from mailflip.lifecycle.runner import STATS, _CachingInstance, context_free


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
    inst = _CachingInstance(inner, context_free=False)
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
    act = SimpleNamespace(jobs=[], is_replaying=False)
    assert inst.activate(act) == "completion" and inner.asked[-1] == ("activate", act)
    assert (inst.get_info().workflow_id, inst.get_thread_id()) == ("order-o1", 7)
    assert STATS.longest["OrderWorkflow:"] >= 0  # activations are timed (here: no jobs)


def test_a_context_free_converter_is_answered_without_asking_the_sandbox():
    inner = Recording()
    inst = _CachingInstance(inner, context_free=True)
    sched = CommandInfo(CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, 3)
    assert inst.get_serialization_context(sched) is None
    assert inst.get_external_store_context(sched) is None
    assert inner.asked == []


class ContextCodec(PayloadCodec, WithSerializationContext):
    """A codec that encrypts per workflow, say: it takes the context."""

    def __init__(self, ctx: Any = None) -> None:
        self.ctx = ctx

    async def encode(self, payloads: Any) -> list[Any]:
        return list(payloads)

    async def decode(self, payloads: Any) -> list[Any]:
        return list(payloads)

    def with_context(self, context: Any) -> ContextCodec:
        return ContextCodec(context)


def test_mailflips_converter_is_context_free_and_a_context_codec_is_not():
    assert context_free(data_converter(ephemeral_keyring()))
    assert context_free(DataConverter.default)
    sealed = data_converter(ephemeral_keyring())
    assert not context_free(dataclasses.replace(sealed, payload_codec=ContextCodec()))
