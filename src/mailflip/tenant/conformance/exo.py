"""Exchange Online cmdlet calls against exo-cmdlets.md (names, parameters and their types).

PowerShell matches cmdlet and parameter names case-insensitively, so do we. It would
also accept an unambiguous prefix of a parameter name (`-Ident`); we do not: a call
spelt out in full is one a reader can grep for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from mailflip.errors import CmdletNonConformant
from mailflip.tenant.conformance.paths import suggest
from mailflip.tenant.conformance.spec import EXO_CMDLETS, spec_file

_HEADING = re.compile(r"^###\s+(\S+)\s*$")
_ROW = re.compile(r"^\|\s*-(\w+)\s*\|\s*([^|]+?)\s*\|\s*$")
# PowerShell's common parameters: not in the reference tables, and InvokeCommand never
# prompts or writes to a console, so a call has no use for them.
_COMMON = {"confirm", "whatif", "erroraction", "warningaction", "informationaction",
           "verbose", "debug", "errorvariable", "warningvariable", "outvariable",
           "outbuffer", "pipelinevariable", "informationvariable", "progressaction"}


@dataclass(frozen=True)
class Cmdlet:
    name: str
    parameters: Mapping[str, tuple[str, str]]  # lower-case name -> (name, type)


@functools.lru_cache(maxsize=4)
def load_cmdlets(path: Path) -> dict[str, Cmdlet]:
    """Lower-case cmdlet name -> its parameters, from the markdown tables."""
    cmdlets: dict[str, Cmdlet] = {}
    current: dict[str, tuple[str, str]] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = {}
            cmdlets[heading.group(1).lower()] = Cmdlet(heading.group(1), current)
            continue
        row = _ROW.match(line)
        if row and current is not None:
            current[row.group(1).lower()] = (row.group(1), row.group(2))
    return cmdlets


def cmdlet_table(spec_dir: Path | None = None) -> dict[str, Cmdlet]:
    return load_cmdlets(spec_file(spec_dir, EXO_CMDLETS))


def check_cmdlet(name: str, parameters: Mapping[str, object], *,
                 spec_dir: Path | None = None) -> None:
    """Refuse (CmdletNonConformant) a call of an unlisted cmdlet, an unknown parameter, a
    switch that is not `true`, or a Boolean/Int32 parameter given another JSON type."""
    table = cmdlet_table(spec_dir)
    cmdlet = table.get(name.lower())
    if cmdlet is None:
        raise CmdletNonConformant(name, name, f"{name!r} is not a cmdlet listed in "
                                  f"{EXO_CMDLETS}" + suggest(name, [c.name for c in
                                                                    table.values()]))
    seen: dict[str, str] = {}
    for given, value in parameters.items():
        key = given.removeprefix("-").lower()
        if key in seen:
            _fail(cmdlet, given, f"parameter {given!r} is given twice (also as {seen[key]!r})")
        seen[key] = given
        if key not in cmdlet.parameters:
            _fail(cmdlet, given, _unknown(cmdlet, given, key))
        canonical, type_name = cmdlet.parameters[key]
        _check_value(cmdlet, canonical, type_name, value)


def _unknown(cmdlet: Cmdlet, given: str, key: str) -> str:
    if key in _COMMON:
        return (f"-{given.removeprefix('-')} is a PowerShell common parameter, not one of "
                f"{cmdlet.name}'s: a call through InvokeCommand never prompts, leave it out")
    names = [n for n, _ in cmdlet.parameters.values()]
    return (f"{given!r} is not a parameter of {cmdlet.name} in Exchange Online"
            + suggest(given.removeprefix("-"), names))


def _check_value(cmdlet: Cmdlet, name: str, type_name: str, value: object) -> None:
    if type_name == "SwitchParameter" and value is not True:
        _fail(cmdlet, name, f"-{name} is a switch: pass true (or leave it out), not {value!r}")
    # PowerShell binds only booleans (or numbers) to Boolean, so "false" is refused there.
    if type_name == "Boolean" and not isinstance(value, bool):
        _fail(cmdlet, name, f"-{name} is Boolean: pass true or false, not {value!r}")
    if type_name == "Int32" and (isinstance(value, bool) or not isinstance(value, int)):
        _fail(cmdlet, name, f"-{name} is Int32: pass a whole number, not {value!r}")


def _fail(cmdlet: Cmdlet, part: str, reason: str) -> NoReturn:
    raise CmdletNonConformant(cmdlet.name, part, reason)


def check_invoke_command(body: object, *, spec_dir: Path | None = None) -> None:
    """The JSON body of an InvokeCommand POST (M365.md §2):
    {"CmdletInput": {"CmdletName": "<cmdlet>", "Parameters": {<name>: <value>, ...}}}."""
    shape = '{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}'
    if not isinstance(body, Mapping) or set(body) != {"CmdletInput"}:
        extra = sorted(set(body) - {"CmdletInput"}) if isinstance(body, Mapping) else []
        raise CmdletNonConformant("InvokeCommand", extra[0] if extra else "body",
                                  f"an InvokeCommand body is {shape}")
    inner = body["CmdletInput"]
    if not isinstance(inner, Mapping):
        raise CmdletNonConformant("InvokeCommand", "CmdletInput", f"CmdletInput is an object: "
                                  f"{shape}")
    for key in inner:
        if key not in ("CmdletName", "Parameters"):
            raise CmdletNonConformant("InvokeCommand", f"CmdletInput.{key}",
                                      f"{key!r} is not a field of CmdletInput ({shape})")
    name = inner.get("CmdletName")
    if not isinstance(name, str) or not name:
        raise CmdletNonConformant("InvokeCommand", "CmdletInput.CmdletName",
                                  "CmdletInput needs CmdletName, the cmdlet's name")
    parameters = inner.get("Parameters", {})
    if not isinstance(parameters, Mapping):
        raise CmdletNonConformant(name, "CmdletInput.Parameters",
                                  "Parameters is an object of parameter name -> JSON value")
    check_cmdlet(name, parameters, spec_dir=spec_dir)
