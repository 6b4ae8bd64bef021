"""Fast JSON <-> dataclass conversion for Temporal payloads, the same JSON as the SDK's.

The SDK's JSON converter rebuilds a dataclass by calling `typing.get_type_hints` for
every object, which compiles each string annotation again: decoding the state of a
10,000-mailbox order took seconds, inside a workflow task whose deadlock limit is 2 s
(issue 14). Here each dataclass gets a conversion plan once (its fields' hints turned
into small coercion functions), and encoding builds shallow dicts instead of
`dataclasses.asdict`'s deep copies. The JSON on the wire is unchanged, so histories
written before this replay as they are.

Supported hints: Any, str, int, float, bool, None, datetime, str / int enums,
dataclasses, `X | None` and other unions, list[X], set[X], dict[K, V]. Any other hint
(a tuple, a Literal, ...) falls back to the SDK's own `value_to_type`, with the same
result, only slower.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

from temporalio.converter import (
    AdvancedJSONEncoder,
    CompositePayloadConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)

Coerce = Callable[[Any], Any]


class FastDataclassConverter(JSONTypeConverter):
    """Converts JSON values to dataclasses with a plan compiled once per class."""

    def __init__(self) -> None:
        self._plans: dict[type, Coerce] = {}

    def to_typed_value(self, hint: type, value: Any) -> Any:
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self._dataclass(hint)(value)
        return JSONTypeConverter.Unhandled

    # ------------------------------------------------------------------- plans
    def _dataclass(self, cls: type) -> Coerce:
        plan = self._plans.get(cls)
        if plan is None:  # nested dataclasses are looked up lazily: no recursion here
            plan = self._plans[cls] = self._build(cls)
        return plan

    def _build(self, cls: type) -> Coerce:
        hints = typing.get_type_hints(cls)
        fields = [(f.name, f.init, self._coercer(hints[f.name]))
                  for f in dataclasses.fields(cls)]

        def build(value: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"Cannot convert to dataclass {cls}, value is {type(value)}")
            init: dict[str, Any] = {}
            late: list[tuple[str, Any]] = []
            for name, is_init, coerce in fields:
                if name in value:
                    try:
                        converted = coerce(value[name])
                    except Exception as err:
                        raise TypeError(f"Failed converting field {name} on dataclass "
                                        f"{cls}") from err
                    if is_init:
                        init[name] = converted
                    else:
                        late.append((name, converted))
            obj = cls(**init)
            for name, converted in late:
                object.__setattr__(obj, name, converted)
            return obj

        return build

    def _coercer(self, hint: Any) -> Coerce:
        if hint is Any:
            return _same
        if hint in _PRIMITIVES:
            return _PRIMITIVES[hint]
        if isinstance(hint, type):
            if dataclasses.is_dataclass(hint):
                return lambda v: self._dataclass(hint)(v)
            if issubclass(hint, Enum) and issubclass(hint, (str, int)):
                return _enum(hint)
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is typing.Union or origin is types.UnionType:
            return self._union(hint, args)
        if origin in (list, set) and len(args) == 1:
            item, make = self._coercer(args[0]), origin
            if item is _same:
                return lambda v: make(_iterable(v, hint))
            return lambda v: make([item(x) for x in _iterable(v, hint)])
        if origin is dict and len(args) == 2 and args[0] is str:
            val = self._coercer(args[1])
            return lambda v: {k: val(x) for k, x in _mapping(v, hint).items()}
        return lambda v: value_to_type(hint, v, [self])

    def _union(self, hint: Any, args: tuple[Any, ...]) -> Coerce:
        options = [a for a in args if a is not type(None)]
        if len(options) == 1 and len(args) == 2:  # X | None
            inner = self._coercer(options[0])
            return lambda v: None if v is None else inner(v)
        tries = [self._coercer(a) for a in args]

        def first_that_fits(v: Any) -> Any:
            for attempt in tries:
                try:
                    return attempt(v)
                except Exception:  # noqa: BLE001, S112 - the next member may fit
                    continue
            raise TypeError(f"Failed converting to {hint} from {v!r}")

        return first_that_fits


def _same(v: Any) -> Any:
    return v


def _iterable(v: Any, hint: Any) -> Any:
    if not isinstance(v, list):
        raise TypeError(f"Expected {hint}, value was {type(v)}")
    return v


def _mapping(v: Any, hint: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise TypeError(f"Expected {hint}, value was {type(v)}")
    return v


def _checked(kind: type, make: Callable[[Any], Any], accept: tuple[type, ...]) -> Coerce:
    def coerce(v: Any) -> Any:
        if not isinstance(v, accept):
            raise TypeError(f"Expected value to be {kind.__name__}, was {type(v)}")
        return make(v)

    return coerce


def _datetime(v: Any) -> datetime:
    if isinstance(v, datetime):
        return v
    if isinstance(v, str):
        try:
            return datetime.fromisoformat(v)
        except ValueError as err:
            raise TypeError(f"Failed parsing datetime string: {v}") from err
    raise TypeError(f"Expected datetime or ISO8601 string, got {type(v)}")


def _none(v: Any) -> None:
    if v is not None:
        raise TypeError(f"Expected None, got value of type {type(v)}")


def _enum(cls: type[Enum]) -> Coerce:
    base = str if issubclass(cls, str) else int

    def coerce(v: Any) -> Any:
        if not isinstance(v, base):
            raise TypeError(f"Cannot convert to enum {cls}, value is {type(v)}")
        return cls(v)

    return coerce


# As in the SDK: int and float accept either number (a bool is an int too).
_PRIMITIVES: dict[Any, Coerce] = {
    str: _checked(str, _same, (str,)),
    int: _checked(int, int, (int, float)),
    float: _checked(float, float, (int, float)),
    bool: _checked(bool, _same, (bool,)),
    datetime: _datetime,
    type(None): _none,
}


class FastJSONEncoder(AdvancedJSONEncoder):
    """Dataclasses as shallow dicts (the encoder recurses into them), not deep copies."""

    _names: dict[type, tuple[str, ...]] = {}

    def default(self, o: Any) -> Any:
        cls = type(o)
        names = self._names.get(cls)
        if names is None and dataclasses.is_dataclass(cls):
            names = self._names[cls] = tuple(f.name for f in dataclasses.fields(cls))
        if names is not None:
            return {n: getattr(o, n) for n in names}
        return super().default(o)


class PayloadConverter(CompositePayloadConverter):
    """The SDK's default converters, with the JSON one made fast for dataclasses."""

    def __init__(self) -> None:
        super().__init__(*(
            JSONPlainPayloadConverter(encoder=FastJSONEncoder,
                                      custom_type_converters=[FastDataclassConverter()])
            if isinstance(c, JSONPlainPayloadConverter) else c
            for c in DefaultPayloadConverter.default_encoding_payload_converters))

