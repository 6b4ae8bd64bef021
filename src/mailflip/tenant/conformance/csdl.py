"""The Graph v1.0 metadata (OData CSDL) as a small index the checks can query.

Indexed: entity and complex types (own properties and navigation properties, base type,
open), enum types (members, flags), bound actions and functions (by binding type, with
their parameters and return type), the container's entity sets and singletons, and the
`Core.V1.Computed` annotations (properties the service computes, so nobody writes them).
Everything else (descriptions, capability and permission annotations) is skipped: it is
most of the file, and the published file does not fill it in consistently enough to
refuse a request on it.
"""

from __future__ import annotations

import functools
import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
COMPUTED = "Org.OData.Core.V1.Computed"
OPTIONAL = "Org.OData.Core.V1.OptionalParameter"


@dataclass(frozen=True)
class TypeRef:
    name: str  # always namespace-qualified ("microsoft.graph.user", "Edm.String")
    collection: bool = False

    def __str__(self) -> str:
        return f"Collection({self.name})" if self.collection else self.name


@dataclass(frozen=True)
class Member:
    """A structural or navigation property."""

    name: str
    type: TypeRef
    nullable: bool
    navigation: bool = False
    contains: bool = False  # ContainsTarget: the entities live under this path


@dataclass
class StructuredType:
    name: str
    entity: bool
    base: str | None
    open: bool
    members: dict[str, Member] = field(default_factory=dict)


@dataclass(frozen=True)
class EnumType:
    name: str
    members: frozenset[str]
    flags: bool


@dataclass(frozen=True)
class Parameter:
    name: str
    type: TypeRef
    nullable: bool
    optional: bool  # annotated Core.V1.OptionalParameter

    @property
    def required(self) -> bool:
        return not self.nullable and not self.optional


@dataclass(frozen=True)
class Operation:
    qualified: str
    action: bool
    binding: TypeRef
    parameters: tuple[Parameter, ...]  # without the binding parameter
    returns: TypeRef | None
    composable: bool

    @property
    def name(self) -> str:
        return self.qualified.rpartition(".")[2]

    def __str__(self) -> str:
        return f"{'action' if self.action else 'function'} {self.qualified}"


@dataclass
class Model:
    types: dict[str, StructuredType] = field(default_factory=dict)
    enums: dict[str, EnumType] = field(default_factory=dict)
    entity_sets: dict[str, str] = field(default_factory=dict)
    singletons: dict[str, str] = field(default_factory=dict)
    # binding type -> operation short name -> overloads
    operations: dict[TypeRef, dict[str, list[Operation]]] = field(default_factory=dict)
    computed: set[tuple[str, str]] = field(default_factory=set)
    derived: dict[str, list[str]] = field(default_factory=dict)

    def ancestry(self, type_name: str) -> Iterator[StructuredType]:
        """The type, then its base types up to the root."""
        current = self.types.get(type_name)
        while current is not None:
            yield current
            current = self.types.get(current.base) if current.base else None

    def member(self, type_name: str, name: str) -> Member | None:
        for t in self.ancestry(type_name):
            if name in t.members:
                return t.members[name]
        return None

    def member_names(self, type_name: str) -> list[str]:
        return [n for t in self.ancestry(type_name) for n in t.members]

    def is_a(self, sub: str, base: str) -> bool:
        return any(t.name == base for t in self.ancestry(sub))

    def descendants(self, type_name: str) -> Iterator[str]:
        for child in self.derived.get(type_name, ()):
            yield child
            yield from self.descendants(child)

    def is_open(self, type_name: str) -> bool:
        return any(t.open for t in self.ancestry(type_name))

    def is_computed(self, type_name: str, name: str) -> bool:
        return any((t.name, name) in self.computed for t in self.ancestry(type_name))

    def bound(self, type_name: str, collection: bool, name: str) -> list[Operation]:
        """Operations callable on the type (or a collection of it) by short or qualified
        name; an operation bound to a base type applies to derived types too."""
        short = name.rpartition(".")[2]
        found: list[Operation] = []
        for t in self.ancestry(type_name):
            for op in self.operations.get(TypeRef(t.name, collection), {}).get(short, ()):
                if name in (short, op.qualified):
                    found.append(op)
        return found

    def bound_names(self, type_name: str, collection: bool) -> list[str]:
        return [n for t in self.ancestry(type_name)
                for n in self.operations.get(TypeRef(t.name, collection), {})]


class _Reader:
    """Reads one CSDL document; aliases ("graph.user") are resolved as they are read."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.model = Model()

    def qualify(self, raw: str) -> str:
        namespace, _, short = raw.rpartition(".")
        return f"{self.aliases[namespace]}.{short}" if namespace in self.aliases else raw

    def type_ref(self, raw: str) -> TypeRef:
        if raw.startswith("Collection(") and raw.endswith(")"):
            return TypeRef(self.qualify(raw[len("Collection("):-1]), True)
        return TypeRef(self.qualify(raw))

    def schema(self, schema: ET.Element) -> None:
        namespace = schema.get("Namespace", "")
        for el in schema:
            tag = el.tag.removeprefix(EDM)
            if tag in ("EntityType", "ComplexType"):
                self.structured(namespace, el, tag == "EntityType")
            elif tag == "EnumType":
                name = f"{namespace}.{el.get('Name')}"
                members = frozenset(m.get("Name", "") for m in el.iter(f"{EDM}Member"))
                self.model.enums[name] = EnumType(name, members, el.get("IsFlags") == "true")
            elif tag in ("Action", "Function"):
                self.operation(namespace, el, tag == "Action")
            elif tag == "EntityContainer":
                self.container(el)
            elif tag == "Annotations":
                self.annotations(el)

    def structured(self, namespace: str, el: ET.Element, entity: bool) -> None:
        name = f"{namespace}.{el.get('Name')}"
        base = el.get("BaseType")
        t = StructuredType(name, entity, self.qualify(base) if base else None,
                           el.get("OpenType") == "true")
        for child in el:
            tag = child.tag.removeprefix(EDM)
            if tag not in ("Property", "NavigationProperty"):
                continue
            member = Member(child.get("Name", ""), self.type_ref(child.get("Type", "")),
                            child.get("Nullable") != "false", tag == "NavigationProperty",
                            child.get("ContainsTarget") == "true")
            t.members[member.name] = member
            if _annotated(child, COMPUTED):
                self.model.computed.add((name, member.name))
        self.model.types[name] = t

    def operation(self, namespace: str, el: ET.Element, action: bool) -> None:
        params = el.findall(f"{EDM}Parameter")
        if el.get("IsBound") != "true" or not params:
            return  # v1.0 has no unbound operations (and no imports to reach them)
        returns = el.find(f"{EDM}ReturnType")
        op = Operation(
            qualified=f"{namespace}.{el.get('Name')}", action=action,
            binding=self.type_ref(params[0].get("Type", "")),
            parameters=tuple(
                Parameter(p.get("Name", ""), self.type_ref(p.get("Type", "")),
                          p.get("Nullable") != "false", _annotated(p, OPTIONAL))
                for p in params[1:]),
            returns=self.type_ref(returns.get("Type", "")) if returns is not None else None,
            composable=el.get("IsComposable") == "true")
        by_name = self.model.operations.setdefault(op.binding, {})
        by_name.setdefault(op.name, []).append(op)

    def container(self, el: ET.Element) -> None:
        for child in el:
            tag = child.tag.removeprefix(EDM)
            if tag == "EntitySet":
                self.model.entity_sets[child.get("Name", "")] = self.qualify(
                    child.get("EntityType", ""))
            elif tag == "Singleton":
                self.model.singletons[child.get("Name", "")] = self.qualify(child.get("Type", ""))

    def annotations(self, el: ET.Element) -> None:
        # Only "type/property" targets matter here; container and operation targets do not.
        type_name, _, prop = el.get("Target", "").partition("/")
        if prop and "/" not in prop and _annotated(el, COMPUTED):
            self.model.computed.add((self.qualify(type_name), prop))


def _annotated(el: ET.Element, term: str) -> bool:
    for a in el.findall(f"{EDM}Annotation"):
        if a.get("Term") == term:
            return a.get("Bool", "true") == "true"
    return False


@functools.lru_cache(maxsize=4)
def load_model(path: Path) -> Model:
    """Parse once per process and file (the 3.5 MB v1.0 file: about 0.25 s)."""
    with (gzip.open(path) if path.suffix == ".gz" else path.open("rb")) as f:
        root = ET.parse(f).getroot()
    schemas = list(root.iter(f"{EDM}Schema"))
    reader = _Reader({s.get("Alias", ""): s.get("Namespace", "") for s in schemas
                      if s.get("Alias")})
    for schema in schemas:
        reader.schema(schema)
    model = reader.model
    for t in model.types.values():
        if t.base:
            model.derived.setdefault(t.base, []).append(t.name)
    return model
