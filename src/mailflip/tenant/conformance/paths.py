"""Resolve a Graph URL path, segment by segment, against the v1.0 metadata.

Each segment moves a `Target` (what the path addresses so far) the way OData reads it:
after a collection a segment is a `$ref`/`$count`, a type cast, a bound operation, or
else a key (Graph's key-as-segment form, `/users/{id}`); after one entity it is a
property, a navigation property, a cast or a bound operation. A segment that fits
nothing is refused by name, which is what the adapter's author needs to see.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NoReturn
from urllib.parse import unquote, urlsplit

from mailflip.errors import GraphNonConformant
from mailflip.tenant.conformance.csdl import Model, Operation, TypeRef

_CALL_SEGMENT = re.compile(r"^([^()]*)\((.*)\)$", re.DOTALL)


@dataclass(frozen=True)
class Call:
    """The request being checked, as its error messages name it."""

    label: str

    def fail(self, part: str, reason: str) -> NoReturn:
        raise GraphNonConformant(self.label, part, reason)


class Kind(StrEnum):
    COLLECTION = "collection"
    ENTITY = "entity"
    COMPLEX = "complex property"
    PRIMITIVE = "primitive property"
    ACTION = "action"
    FUNCTION = "function"
    REF = "$ref"
    COUNT = "$count"
    VALUE = "$value"
    BATCH = "$batch"
    METADATA = "$metadata"


@dataclass(frozen=True)
class Target:
    kind: Kind
    type: str = ""  # the addressed (or returned) type, qualified
    collection: bool = False  # for properties, $ref and operation results
    owned: bool = True  # entity set, singleton or containment: the entities live here
    singleton: bool = False
    keyed: bool = False  # one entity picked out of a collection by its key
    via_nav: bool = False  # the last navigation step was a navigation property
    operations: tuple[Operation, ...] = ()

    def describe(self) -> str:
        if self.operations:
            return str(self.operations[0])
        if self.kind is Kind.COLLECTION:
            return f"a collection of {self.type}"
        if self.kind is Kind.ENTITY:
            return f"{'singleton' if self.singleton else 'an entity'} {self.type}"
        if self.kind is Kind.REF:
            return f"a reference{' collection' if self.collection else ''} ($ref)"
        if self.kind in (Kind.COMPLEX, Kind.PRIMITIVE):
            return f"a {self.kind} of type {TypeRef(self.type, self.collection)}"
        return f"{self.kind}"


def suggest(name: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def split_url(call: Call, url: str, *, in_batch: bool) -> tuple[list[str], str]:
    """Path segments below the v1.0 root, and the raw query string."""
    parts = urlsplit(url)
    absolute = bool(parts.scheme or parts.netloc)
    if absolute and in_batch:
        call.fail(url, "a $batch request's url is relative to the batch's root, e.g. /users/{id}")
    if absolute and parts.scheme not in ("https", "http"):
        call.fail(parts.scheme, "Graph is called over https")
    raw = parts.path.strip("/").split("/") if parts.path.strip("/") else []
    if raw and raw[0] == "beta":
        call.fail("beta", "the beta endpoint is refused: mailflip calls Graph v1.0 only")
    if raw and raw[0] == "v1.0" and not in_batch:
        raw = raw[1:]
    elif absolute:
        call.fail(raw[0] if raw else url, "a Graph URL starts with its version, /v1.0/")
    if not raw:
        call.fail(url, "no resource: the path names nothing below /v1.0/")
    if "" in raw:
        call.fail(parts.path, "empty segment ('//') in the path")
    return [unquote(s) for s in raw], parts.query


def resolve(model: Model, call: Call, segments: Sequence[str]) -> Target:
    target = _root(model, call, segments[0])
    for segment in segments[1:]:
        target = _step(model, call, target, segment)
    return target


def _split_call(call: Call, segment: str) -> tuple[str, str | None]:
    """`users('x')` -> ("users", "'x'"); `delta()` -> ("delta", ""); `users` -> (.., None)."""
    if "(" not in segment and ")" not in segment:
        return segment, None
    match = _CALL_SEGMENT.match(segment)
    if match is None:
        call.fail(segment, "unbalanced parentheses in the segment")
    return match.group(1), match.group(2)


def _root(model: Model, call: Call, segment: str) -> Target:
    name, args = _split_call(call, segment)
    if segment in ("$batch", "$metadata"):
        return Target(Kind(segment))
    if name in model.entity_sets:
        target = Target(Kind.COLLECTION, model.entity_sets[name])
        return _key(call, target, segment, args) if args is not None else target
    if name in model.singletons and args is None:
        return Target(Kind.ENTITY, model.singletons[name], singleton=True)
    call.fail(segment, "not an entity set or singleton of Graph v1.0"
              + suggest(name, [*model.entity_sets, *model.singletons]))


def _key(call: Call, target: Target, segment: str, key: str) -> Target:
    if key.startswith("$") or key.strip("'") == "":
        call.fail(segment, f"not a key nor a segment that can follow {target.describe()}")
    return replace(target, kind=Kind.ENTITY, keyed=True)


def _step(model: Model, call: Call, target: Target, segment: str) -> Target:
    if target.kind is Kind.COLLECTION:
        return _after_collection(model, call, target, segment)
    if target.kind is Kind.ENTITY or (target.kind is Kind.COMPLEX and not target.collection):
        return _after_single(model, call, target, segment)
    if target.kind is Kind.PRIMITIVE and segment == "$value":
        return Target(Kind.VALUE, target.type, owned=target.owned)
    if target.kind is Kind.FUNCTION and target.operations[0].composable:
        returned = _result(model, target.operations)
        return _step(model, call, replace(returned, owned=False), segment)
    call.fail(segment, f"nothing can follow {target.describe()}")


def _after_collection(model: Model, call: Call, target: Target, segment: str) -> Target:
    if segment == "$count":
        return Target(Kind.COUNT, target.type)
    if segment == "$ref":
        return _ref(call, target, segment, collection=True)
    name, args = _split_call(call, segment)
    if name in model.types:  # a cast, maybe with a key: members/microsoft.graph.user('x')
        cast = _cast(model, call, target, name)
        return _key(call, cast, segment, args) if args is not None else cast
    ops = model.bound(target.type, True, name)
    if ops:
        return _operation(model, call, ops, segment, args)
    if args is not None or name.startswith("microsoft.graph."):
        call.fail(segment, f"not an operation bound to Collection({target.type}) nor a type"
                  + suggest(name, model.bound_names(target.type, True)))
    return _key(call, target, segment, segment)


def _after_single(model: Model, call: Call, target: Target, segment: str) -> Target:
    if segment == "$ref":
        return _ref(call, target, segment, collection=False)
    if segment == "$value" and target.kind is Kind.ENTITY:
        return Target(Kind.VALUE, target.type, owned=target.owned)
    name, args = _split_call(call, segment)
    if name in model.types:
        if args is not None:
            call.fail(segment, "a cast of one entity takes no key")
        return _cast(model, call, target, name)
    member = model.member(target.type, name)
    if member is not None:
        moved = _member_target(model, target, member.type, member.navigation, member.contains)
        if args is None:
            return moved
        if moved.kind is Kind.COLLECTION:
            return _key(call, moved, segment, args)
        call.fail(segment, f"{name!r} is not a collection: it takes no key")
    ops = model.bound(target.type, False, name)
    if ops:
        return _operation(model, call, ops, segment, args)
    call.fail(segment, f"not a property, navigation property or bound operation of "
              f"{target.type}" + suggest(name, [*model.member_names(target.type),
                                                *model.bound_names(target.type, False)]))


def _member_target(model: Model, parent: Target, type_: TypeRef, navigation: bool,
                   contains: bool) -> Target:
    if navigation:
        owned = contains and parent.owned
        kind = Kind.COLLECTION if type_.collection else Kind.ENTITY
        return Target(kind, type_.name, owned=owned, via_nav=True)
    kind = Kind.COMPLEX if type_.name in model.types else Kind.PRIMITIVE
    return Target(kind, type_.name, collection=type_.collection, owned=parent.owned)


def _cast(model: Model, call: Call, target: Target, name: str) -> Target:
    if not model.types[name].entity and target.kind is not Kind.COMPLEX:
        call.fail(name, "a cast names an entity type")
    if not model.is_a(name, target.type):
        call.fail(name, f"type cast to {name}, which does not derive from {target.type}")
    return replace(target, type=name)


def _ref(call: Call, target: Target, segment: str, *, collection: bool) -> Target:
    if not target.via_nav or target.kind is Kind.COMPLEX:
        call.fail(segment, "$ref follows a navigation property (e.g. /groups/{id}/members/$ref)")
    return Target(Kind.REF, target.type, collection=collection, keyed=target.keyed,
                  owned=target.owned)


def _operation(model: Model, call: Call, ops: list[Operation], segment: str,
               args: str | None) -> Target:
    action = ops[0].action
    if action and args is not None:
        call.fail(segment, f"{ops[0]} takes its parameters in the body, not in the URL")
    if not action:
        _function_args(call, ops, segment, args or "")
    result = _result(model, tuple(ops))
    kind = Kind.ACTION if action else Kind.FUNCTION
    return Target(kind, result.type, collection=result.collection, owned=False,
                  operations=tuple(ops))


def _result(model: Model, ops: Sequence[Operation]) -> Target:
    """What an operation returns, as a target ($select applies to it; composable functions
    continue from it)."""
    returns = ops[0].returns
    if returns is None:
        return Target(Kind.PRIMITIVE, "")
    if returns.name in model.types and model.types[returns.name].entity:
        kind = Kind.COLLECTION if returns.collection else Kind.ENTITY
        return Target(kind, returns.name, collection=returns.collection)
    kind = Kind.COMPLEX if returns.name in model.types else Kind.PRIMITIVE
    return Target(kind, returns.name, collection=returns.collection)


def _function_args(call: Call, ops: list[Operation], segment: str, args: str) -> None:
    given = {part.split("=", 1)[0].strip() for part in split_top(args, ",") if part.strip()}
    missing: list[str] = []
    for op in ops:  # overloads: any one that the names fit and fill will do
        if given <= {p.name for p in op.parameters}:
            lacking = [p.name for p in op.parameters if p.required and p.name not in given]
            if not lacking:
                return
            missing.append(repr(lacking[0]))
    if missing:
        call.fail(segment, f"{ops[0]} needs parameter {' or '.join(missing)}")
    unknown = sorted(given - {p.name for op in ops for p in op.parameters})
    bad = unknown[0] if unknown else sorted(given)[0]
    call.fail(bad, f"{bad!r} is not a parameter of {ops[0]} (in segment {segment!r})")


def split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside parentheses and single quotes (OData literals)."""
    out, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == sep:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out
