"""Record workflow histories of bundled scenarios for the replay test.

Run it when adding a scenario to the set, never to "fix" a failing replay test: a
failing replay means a change would break orders already running; guard the change
with `workflow.patched()` instead.

    .venv/bin/python -m tests.replay.record_histories
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailflip.simulate.runner import Driver
from mailflip.simulate.scenario import load

from . import TEST_KEYRING

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).parent / "histories"
SCENARIOS = ["happy-path-ssi", "domain-unverified-hold", "mailbox-failures-30pct",
             "bad-credentials", "mx-stuck"]


async def record() -> None:
    OUT.mkdir(exist_ok=True)
    for name in SCENARIOS:
        outcome = await Driver(load(ROOT / "examples" / f"{name}.yaml"),
                               keep_histories=True, keyring=TEST_KEYRING).run()
        for wf_id, history in outcome.histories.items():
            kind = wf_id.split("-", 1)[0]
            (OUT / f"{name}.{kind}.json").write_text(history)
            print(f"recorded {name}.{kind}.json")


if __name__ == "__main__":
    asyncio.run(record())
