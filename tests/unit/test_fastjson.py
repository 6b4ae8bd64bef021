"""The fast payload converter (lifecycle/fastjson.py) writes the same JSON as the SDK's
and reads it back to the same objects, so histories replay unchanged (tests/replay)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.converter import AdvancedJSONEncoder, DefaultPayloadConverter

from mailflip.domain import actions as act
from mailflip.domain.model import OrderSpec, Poc, UserSpec
from mailflip.domain.names import SyncPass, TaskState
from mailflip.domain.syncs import Box
from mailflip.domain.timeline import TimelineEvent
from mailflip.lifecycle.fastjson import FastJSONEncoder, PayloadConverter
from mailflip.lifecycle.order.messages import EngineSettings, OrderInput
from mailflip.lifecycle.syncs.messages import SyncsCommand, SyncsInput

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def order_input(n: int = 5) -> OrderInput:
    spec = OrderSpec("acme", "Contoso", Poc("Pat", "pat@contoso.com"), T0 + timedelta(days=9),
                     "contoso.onmicrosoft.com", vanity_domains=["contoso.com"],
                     users=[UserSpec(f"U{i}", f"u{i}@old.example", f"u{i}@contoso.com", "SPB",
                                     aliases=[f"x{i}@contoso.com"]) for i in range(n)])
    state = act.init_state("o1", spec, T0)
    act.check_place(state, T0, EngineSettings().timings(), "partner").apply(
        act.Change(state, T0, EngineSettings().timings()))
    state.mailboxes["u1@contoso.com"].failed_pass = "final"
    return OrderInput("o1", settings=EngineSettings(time_scale=2.5), state=state, event_seq=7)


def syncs_input() -> SyncsInput:
    boxes = {"a@x": Box("a@x", "a@y", q=[SyncPass.FINAL, SyncPass.DELTA], run=SyncPass.SWEEP,
                        init=True, sweep_at=T0, grade="gaps"),
             "b@x": Box("b@x", "b@y")}
    return SyncsInput("o1", commands=[SyncsCommand("cutover", ["a@x"], ["a@y"], T0)],
                      boxes=boxes, cutover=T0, failed=[["a@x", "final", "boom"]])


@pytest.mark.parametrize("value", [order_input(), syncs_input(),
                                   TimelineEvent(T0, "sync", {"n": 1, "l": [1, "a"]}, "syncs", 3)],
                         ids=["order", "syncs", "event"])
def test_same_json_and_same_objects_as_the_sdk(value: Any) -> None:
    fast, sdk = PayloadConverter(), DefaultPayloadConverter()
    [ours], [theirs] = fast.to_payloads([value]), sdk.to_payloads([value])
    assert json.loads(ours.data) == json.loads(theirs.data)
    assert ours.data == json.dumps(value, cls=AdvancedJSONEncoder, separators=(",", ":"),
                                   sort_keys=True).encode()
    [back] = fast.from_payloads([theirs], [type(value)])
    [sdk_back] = sdk.from_payloads([theirs], [type(value)])
    assert back == sdk_back == value


def test_enums_datetimes_and_optionals_come_back_typed() -> None:
    fast = PayloadConverter()
    [back] = fast.from_payloads(fast.to_payloads([syncs_input()]), [SyncsInput])
    a = back.boxes["a@x"]
    assert a.q == [SyncPass.FINAL, SyncPass.DELTA] and type(a.q[0]) is SyncPass
    assert a.run is SyncPass.SWEEP and a.sweep_at == T0 and back.boxes["b@x"].sweep_at is None
    [state] = fast.from_payloads(fast.to_payloads([order_input()]), [OrderInput])
    assert all(type(t.state) is TaskState for t in state.state.tasks)


@dataclass
class Strict:
    when: datetime
    count: int = 0
    names: list[str] = field(default_factory=list)
    either: int | str = 0


@pytest.mark.parametrize("raw, field_name", [
    ({"when": "not a date"}, "when"),
    ({"when": T0.isoformat(), "count": "3"}, "count"),
    ({"when": T0.isoformat(), "names": "ann"}, "names"),
    ({"when": T0.isoformat(), "either": [1]}, "either"),
])
def test_a_wrong_value_is_a_type_error_naming_the_field(raw: dict[str, Any],
                                                       field_name: str) -> None:
    fast = PayloadConverter()
    [payload] = DefaultPayloadConverter().to_payloads([raw])
    with pytest.raises(Exception, match=f"field {field_name} on dataclass"):
        fast.from_payloads([payload], [Strict])


def test_unions_take_the_first_member_that_fits() -> None:
    fast = PayloadConverter()
    [a] = fast.from_payloads(DefaultPayloadConverter().to_payloads(
        [{"when": T0.isoformat(), "either": "x"}]), [Strict])
    assert a == Strict(T0, either="x")


def test_encoder_keeps_the_sdk_encoding_of_other_values() -> None:
    assert json.dumps({"s": {1, 2}, "t": T0}, cls=FastJSONEncoder) == \
        json.dumps({"s": {1, 2}, "t": T0}, cls=AdvancedJSONEncoder)
