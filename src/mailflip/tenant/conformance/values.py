"""JSON bodies against CSDL types: creates, updates, action parameters and references.

Every object is checked key by key against its type and its base types (or the derived
type its `@odata.type` names), down through nested complex values, so a misspelt
`passwordProfile.forceChangePasswordNextSignIn` is caught as surely as a top-level typo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mailflip.errors import GraphNonConformant
from mailflip.tenant.conformance.csdl import Model, Operation, TypeRef
from mailflip.tenant.conformance.paths import Call, Kind, Target, resolve, split_url, suggest

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Open directory types are open for directory extension attributes only (README.md).
_EXTENSION = re.compile(r"^extension_[0-9a-fA-F]{32}_\w+$")
_TEXT = {"Edm.String", "Edm.Date", "Edm.DateTimeOffset", "Edm.TimeOfDay", "Edm.Duration",
         "Edm.Binary"}
_INTEGER = {"Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32", "Edm.Int64"}
_NUMBER = {"Edm.Single", "Edm.Double", "Edm.Decimal"}
_SPECIAL_NUMBERS = {"NaN", "INF", "-INF"}


def _json_kind(value: object) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


class Values:
    def __init__(self, model: Model, call: Call) -> None:
        self.model = model
        self.call = call

    def structured(self, type_name: str, obj: object, where: str) -> None:
        if not isinstance(obj, Mapping):
            self.call.fail(where or "body", f"expected a JSON object of type {type_name}, "
                           f"got {_json_kind(obj)}")
        type_name = self._declared_type(type_name, obj, where)
        for key, value in obj.items():
            path = f"{where}.{key}" if where else str(key)
            if "@" in key:
                self._annotation(type_name, key, value, path)
                continue
            member = self.model.member(type_name, key)
            if member is None:
                if self.model.is_open(type_name) and _EXTENSION.match(key):
                    continue
                self.call.fail(path, f"body property {path!r} is not a property of {type_name} "
                               "or its base types"
                               + suggest(key, self.model.member_names(type_name)))
            if self.model.is_computed(type_name, key):
                self.call.fail(path, f"body property {path!r} is computed by the service "
                               f"({type_name}): it cannot be written")
            self.value(member.type, member.nullable, value, path)

    def _declared_type(self, type_name: str, obj: Mapping[str, object], where: str) -> str:
        declared = obj.get("@odata.type")
        if declared is None:
            return type_name
        name = declared.removeprefix("#") if isinstance(declared, str) else ""
        if name not in self.model.types or not self.model.is_a(name, type_name):
            part = f"{where}.@odata.type" if where else "@odata.type"
            self.call.fail(part, f"{part} {declared!r} is not {type_name} "
                           "or a type derived from it")
        return name

    def _annotation(self, type_name: str, key: str, value: object, path: str) -> None:
        prop, _, term = key.partition("@")
        if not prop:
            return  # instance annotations (@odata.type, @odata.id ...) are not properties
        member = self.model.member(type_name, prop)
        if member is None:
            self.call.fail(path, f"{key!r} annotates {prop!r}, which is not a property of "
                           f"{type_name}" + suggest(prop, self.model.member_names(type_name)))
        if term != "odata.bind":
            return
        if not member.navigation:
            self.call.fail(path, f"{key!r}: @odata.bind binds navigation properties and "
                           f"{prop!r} is structural")
        if not member.type.collection:
            self.reference(value, member.type.name, path)
            return
        if not isinstance(value, list):
            self.call.fail(path, f"{key!r} binds a collection: expected an array of URLs")
        for i, url in enumerate(value):
            self.reference(url, member.type.name, f"{path}[{i}]")

    def reference(self, url: object, expected: str, where: str) -> None:
        """A URL that must address one entity of the expected type (or of a base or derived
        type: /directoryObjects/{id} is a fine member of a group)."""
        if not isinstance(url, str):
            self.call.fail(where, f"{where!r} expects the URL of an entity, got {_json_kind(url)}")
        try:
            target = resolve(self.model, self.call, split_url(self.call, url, in_batch=False)[0])
        except GraphNonConformant as error:
            self.call.fail(where, f"{where!r} does not address an entity: {error.part!r}: "
                           f"{error.reason}")
        if target.kind is not Kind.ENTITY:
            self.call.fail(where, f"{where!r} addresses {target.describe()}, not one entity")
        if not (self.model.is_a(target.type, expected) or self.model.is_a(expected, target.type)):
            self.call.fail(where, f"{where!r} addresses a {target.type}, expected {expected}")

    def value(self, type_: TypeRef, nullable: bool, value: object, where: str) -> None:
        if value is None:
            if not nullable:
                self.call.fail(where, f"{where!r} cannot be null ({type_})")
            return
        if type_.collection:
            if not isinstance(value, list):
                self.call.fail(where, f"{where!r} expects an array ({type_}), "
                               f"got {_json_kind(value)}")
            for i, item in enumerate(value):
                self.value(TypeRef(type_.name), nullable, item, f"{where}[{i}]")
        elif type_.name in self.model.types:
            self.structured(type_.name, value, where)
        elif type_.name in self.model.enums:
            self._enum(type_.name, value, where)
        elif not _primitive_fits(type_.name, value):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            self.call.fail(where, f"{where!r} expects {type_.name}, got {_json_kind(value)} "
                           f"{shown}")

    def _enum(self, name: str, value: object, where: str) -> None:
        enum = self.model.enums[name]
        if not isinstance(value, str):
            self.call.fail(where, f"{where!r} expects a member name of {name}, "
                           f"got {_json_kind(value)}")
        for part in value.split(",") if enum.flags else [value]:
            if part.strip() not in enum.members:
                self.call.fail(where, f"{where!r}: {part!r} is not a member of {name}"
                               + suggest(part.strip(), sorted(enum.members)))

    def parameters(self, ops: Sequence[Operation], body: object) -> None:
        """An action's body: its parameters (not the binding one), the required ones present."""
        obj = {} if body is None else body
        if not isinstance(obj, Mapping):
            self.call.fail("body", f"{ops[0]} takes a JSON object of parameters, "
                           f"got {_json_kind(obj)}")
        first: GraphNonConformant | None = None
        for op in ops:  # overloads bound to one type: any that fits will do
            try:
                self._parameters(op, obj)
                return
            except GraphNonConformant as error:
                first = first or error
        assert first is not None
        raise first

    def _parameters(self, op: Operation, obj: Mapping[str, object]) -> None:
        params = {p.name: p for p in op.parameters}
        for key, value in obj.items():
            if key not in params:
                takes = ", ".join(params) if params else "none"
                self.call.fail(key, f"body property {key!r} is not a parameter of {op} "
                               f"(it takes: {takes})" + suggest(key, list(params)))
            self.value(params[key].type, params[key].nullable, value, key)
        for p in op.parameters:
            if p.required and p.name not in obj:
                self.call.fail(p.name, f"{op} needs parameter {p.name!r} ({p.type}, "
                               "not nullable)")

    def ref_body(self, target: Target, body: object) -> None:
        if not isinstance(body, Mapping) or set(body) != {"@odata.id"}:
            extra = sorted(set(body) - {"@odata.id"}) if isinstance(body, Mapping) else []
            self.call.fail(extra[0] if extra else "body",
                           'a $ref body is exactly {"@odata.id": "<URL of the entity>"}')
        self.reference(body["@odata.id"], target.type, "@odata.id")


def _primitive_fits(name: str, value: object) -> bool:
    if name == "Edm.Boolean":
        return isinstance(value, bool)
    if name in _INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if name in _NUMBER:
        return (isinstance(value, int | float) and not isinstance(value, bool)
                or value in _SPECIAL_NUMBERS)
    if name == "Edm.Guid":
        return isinstance(value, str) and _GUID.match(value) is not None
    if name in _TEXT:
        return isinstance(value, str)
    return True  # Edm.Stream, Edm.Untyped, geography: any JSON
