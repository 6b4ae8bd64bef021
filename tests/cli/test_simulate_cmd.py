"""`mailflip simulate` on the bundled examples and on invalid scenarios (SCENARIOS.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from .cli import EXAMPLES, mailflip

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def examples() -> list[Path]:
    found = sorted(EXAMPLES.glob("*.yaml"))
    assert found, f"no examples in {EXAMPLES}"
    return found


@pytest.mark.parametrize("example", examples(), ids=lambda p: p.stem)
def test_every_example_prints_a_timeline_ending_with_end(example: Path) -> None:
    result = mailflip("simulate", str(example))

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) > 2
    for line in lines:
        assert ISO_Z.match(line["at"]), line
        assert isinstance(line["kind"], str) and line["kind"], line
    assert [line["kind"] for line in lines].count("end") == 1
    assert lines[-1]["kind"] == "end"
    assert {"status", "on_hold", "cancelled"} <= set(lines[-1])
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)


def _variant(tmp_path: Path, edit: dict[str, object], where: str = "order") -> Path:
    scenario = yaml.safe_load((EXAMPLES / "happy-path-ssi.yaml").read_text())
    if where:
        scenario[where].update(edit)
    else:
        scenario.update(edit)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


@pytest.mark.parametrize(("edit", "where", "field"), [
    ({"colour": "blue"}, "order", "order.colour"),
    ({"poc": {"name": "Pat", "email": "pat-at-contoso"}}, "order", "order.poc.email"),
    ({"cutover": "2026-11-01T09:00:00Z"}, "order", "order.cutover"),
    ({"mood": "sunny"}, "", "mood"),
], ids=["unknown-key", "bad-address", "cutover-in-the-past", "unknown-top-level-key"])
def test_an_invalid_scenario_exits_2_naming_the_field(
        tmp_path: Path, edit: dict[str, object], where: str, field: str) -> None:
    result = mailflip("simulate", str(_variant(tmp_path, edit, where)))

    assert result.returncode == 2
    assert result.stdout == ""
    assert field in result.stderr, result.stderr
