"""The bundled examples' timelines are a public contract (SCENARIOS.md): a refactoring
keeps them. `timelines/` holds each example's output as recorded; work that finishes at
one instant may be printed in any order, so lines are compared instant by instant; and
the time-skipping server's clock runs in real time between skips, so on a loaded machine
an event may print a second late: instants are compared to the minute.

Record anew only for a deliberate change of behaviour, saying so in the commit:
    for f in examples/*.yaml; do .venv/bin/mailflip simulate $f \
        > tests/cli/timelines/$(basename $f .yaml).jsonl; done
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from .cli import EXAMPLES, mailflip

RECORDED = Path(__file__).parent / "timelines"


def by_instant(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        event = json.loads(line)
        minute = event.pop("at")[:16]
        out[minute].append(json.dumps(event, sort_keys=True))
    return {at: sorted(lines) for at, lines in out.items()}


def test_every_example_has_a_recorded_timeline() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.yaml")} == {p.stem for p in RECORDED.glob("*.jsonl")}


@pytest.mark.parametrize("recorded", sorted(RECORDED.glob("*.jsonl")), ids=lambda p: p.stem)
def test_simulate_prints_the_recorded_timeline(recorded: Path) -> None:
    result = mailflip("simulate", str(EXAMPLES / f"{recorded.stem}.yaml"))

    assert result.returncode == 0, result.stderr
    assert by_instant(result.stdout) == by_instant(recorded.read_text())
