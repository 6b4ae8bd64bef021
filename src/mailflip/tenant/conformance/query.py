"""Query options: only the system options Graph knows, and the names in `$select`,
`$expand` and `$orderby` checked against the type the path resolved to.

A name is accepted when the type, a base type or a derived type declares it: Graph
answers `/groups/{id}/members?$select=displayName` (members are directoryObjects, the
name is a user's or a group's) with the property where the member has it.
`$filter` and `$search` are passed as they are: their expression language is not in the
metadata.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from mailflip.tenant.conformance.csdl import Member, Model
from mailflip.tenant.conformance.paths import Call, Kind, Target, split_top, suggest

SYSTEM = ("$select", "$expand", "$filter", "$top", "$skip", "$count", "$orderby", "$search",
          "$format", "$skiptoken", "$deltatoken")
_ON_COLLECTIONS = {"$filter", "$top", "$skip", "$count", "$orderby", "$search", "$skiptoken"}
_IN_EXPAND = {"$select", "$expand", "$filter", "$top", "$skip", "$count", "$orderby",
              "$search", "$levels"}
_EXPAND_ITEM = re.compile(r"^([^()]+)(?:\((.*)\))?$", re.DOTALL)


def check_query(model: Model, call: Call, target: Target, query: str) -> None:
    seen: set[str] = set()
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in seen:
            call.fail(name, f"query option {name} is given twice")
        seen.add(name)
        if name.startswith("@"):
            continue  # a parameter alias of a function call
        if not name.startswith("$"):
            if f"${name}" in SYSTEM:
                call.fail(name, f"write ${name}: Graph v1.0 takes system query options without "
                          "the $ prefix for only some APIs")
            continue  # custom query options (calendarView's startDateTime) are the API's own
        if name not in SYSTEM:
            call.fail(name, f"{name} is not a system query option of Graph v1.0"
                      + suggest(name, SYSTEM))
        _option(model, call, target, name, value)


def _option(model: Model, call: Call, target: Target, name: str, value: str) -> None:
    if value == "":
        call.fail(name, f"{name} has no value")
    if name in _ON_COLLECTIONS and not _many(target):
        call.fail(name, f"{name} applies to collections, not to {target.describe()}")
    if name in ("$select", "$expand", "$orderby"):
        type_name = _structured(model, target)
        if type_name is None:
            call.fail(name, f"{name} does not apply to {target.describe()}")
        if name == "$select":
            for item in split_top(value, ","):
                if item.strip() != "*":
                    _walk(model, call, type_name, item.strip(), name)
        elif name == "$expand":
            _expand(model, call, type_name, value)
        else:
            for item in split_top(value, ","):
                path, _, direction = item.strip().partition(" ")
                if direction.strip() not in ("", "asc", "desc"):
                    call.fail(item, f"$orderby direction {direction.strip()!r}: asc or desc")
                _walk(model, call, type_name, path, name)
    elif name in ("$top", "$skip") and not value.isdigit():
        call.fail(name, f"{name}={value!r}: expected a non-negative integer")
    elif name == "$count" and value not in ("true", "false"):
        call.fail(name, f"$count={value!r}: expected true or false")
    elif name == "$levels" and not (value.isdigit() or value == "max"):
        call.fail(name, f"$levels={value!r}: expected a positive integer or max")


def _many(target: Target) -> bool:
    return target.kind in (Kind.COLLECTION, Kind.COUNT) or (
        target.collection and target.kind in (Kind.REF, Kind.ACTION, Kind.FUNCTION,
                                              Kind.COMPLEX, Kind.PRIMITIVE))


def _structured(model: Model, target: Target) -> str | None:
    kinds = (Kind.COLLECTION, Kind.ENTITY, Kind.COMPLEX, Kind.ACTION, Kind.FUNCTION)
    return target.type if target.kind in kinds and target.type in model.types else None


def _walk(model: Model, call: Call, type_name: str, item: str, option: str,
          navigation: bool = False) -> Member:
    """Follow `a/b`, `microsoft.graph.user/a` from the type; the last step's member."""
    current = type_name
    steps = item.split("/")
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if step in model.types and not last:
            if not model.is_a(step, current):
                call.fail(item, f"{option}: type cast to {step}, which does not derive from "
                          f"{current}")
            current = step
            continue
        member = _member_anywhere(model, current, step)
        if member is None:
            call.fail(item, f"{option}: {step!r} is not a property of {current} nor of a type "
                      "derived from it" + suggest(step, model.member_names(current)))
        if last:
            if navigation and not member.navigation:
                call.fail(item, f"$expand: {step!r} is a structural property of {current}, not "
                          "a navigation property")
            return member
        if member.type.name not in model.types:
            call.fail(item, f"{option}: {step!r} is {member.type}: nothing is below it")
        current = member.type.name
    call.fail(item, f"{option}: empty item")


def _member_anywhere(model: Model, type_name: str, name: str) -> Member | None:
    found = model.member(type_name, name)
    if found is not None:
        return found
    for sub in model.descendants(type_name):
        member = model.types[sub].members.get(name)
        if member is not None:
            return member
    return None


def _expand(model: Model, call: Call, type_name: str, value: str) -> None:
    for raw in split_top(value, ","):
        item = raw.strip()
        if item == "*":
            continue
        match = _EXPAND_ITEM.match(item)
        if match is None:
            call.fail(item, "$expand: malformed item")
        path = match.group(1).removesuffix("/$ref").removesuffix("/$count")
        member = _walk(model, call, type_name, path, "$expand", navigation=True)
        if match.group(2) is not None:
            nested = Target(Kind.COLLECTION if member.type.collection else Kind.ENTITY,
                            member.type.name)
            _nested(model, call, nested, match.group(2), item)


def _nested(model: Model, call: Call, target: Target, options: str, item: str) -> None:
    for raw in split_top(options, ";"):
        name, eq, value = raw.strip().partition("=")
        if not eq or name not in _IN_EXPAND:
            call.fail(item, f"$expand: {raw.strip()!r} is not an option of an expanded "
                      "navigation property")
        _option(model, call, target, name, value)
