"""Reading people's YAML (order and world files): parsed strictly, errors name the field."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mailflip.simulate.scenario import ScenarioError

M = TypeVar("M", bound=BaseModel)
_SPAN = re.compile(r"^\+?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def read_section(path: Path, key: str) -> Any:
    """The `key:` section of a YAML file holding only that section (or the bare section)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError("file", str(exc)) from None
    if not isinstance(raw, dict):
        raise ScenarioError("file", f"must be a YAML mapping (with a `{key}:` section)")
    if key in raw:
        extra = sorted(set(raw) - {key})
        if extra:
            raise ScenarioError(extra[0], f"unexpected key beside `{key}:`")
        return raw[key] if raw[key] is not None else {}
    return raw


def parse_model(model: type[M], raw: Any, prefix: str) -> M:
    if not isinstance(raw, dict):
        raise ScenarioError(prefix, "must be a mapping")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join([prefix, *(str(p) for p in err["loc"])])
        raise ScenarioError(field, err["msg"]) from None


def span(field: str, value: str, *, allow_zero: bool = False) -> timedelta:
    """`20s`, `30m`, `2h`, `1d4h`, with or without a leading `+`."""
    m = _SPAN.match(value.strip())
    if not m or all(g is None for g in m.groups()):
        raise ScenarioError(field, f"{value!r} is not a duration like 20s, 30m, 2h or 1d")
    d, h, mi, s = (int(x or 0) for x in m.groups())
    out = timedelta(days=d, hours=h, minutes=mi, seconds=s)
    if out == timedelta(0) and not allow_zero:
        raise ScenarioError(field, "must be longer than zero")
    return out
