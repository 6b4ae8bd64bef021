"""`mailflip demo`'s pieces: the bundled scenario condensed to fit a screen, and the
settings of the live demo order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from mailflip.domain.model import OrderSpec
from mailflip.lifecycle.order.messages import EngineSettings

from .demo_order import DEMO_ORDER_YAML
from .orders import order_from_text

EXAMPLE = "happy-path-ssi.yaml"
DEMO_WORLD = "worlds/demo.yaml"  # the outside world the live demo order meets
# The live demo world verifies domains a minute after placement: poll every 20 s (not
# every 15 min) so that the demo order reaches "Waiting For Migration Date" in ~2 min.
DEMO_ENGINE = EngineSettings(verify_interval_s=20)
SHOWN_STATES = {"completed", "failed", "cancelled"}


def find_example(name: str = EXAMPLE) -> Path:
    """examples/ of the checkout this package runs from, else of the working directory."""
    here = Path(__file__).resolve()
    for root in (*here.parents, Path.cwd()):
        candidate = root / "examples" / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"examples/{name} not found (run from a mailflip checkout)")


def demo_spec(now: datetime | None = None) -> OrderSpec:
    return order_from_text(yaml.safe_load(DEMO_ORDER_YAML)["order"], now or datetime.now(UTC))


def condense(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timeline for a screen: CTPs and syncs only when they end, consecutive sync
    endings and reconciliations counted per pass and outcome, consecutive emails of a
    template on one row."""
    out: list[dict[str, Any]] = []
    syncs: dict[tuple[str, str], int] = {}
    last_sync_at = ""

    def flush_syncs() -> None:
        for (pass_, state), n in syncs.items():
            noun = "mailbox" if n == 1 else "mailboxes"
            out.append({"at": last_sync_at, "kind": "sync", "mailbox": f"{n} {noun}:",
                        "pass": pass_, "state": state})
        syncs.clear()

    for e in lines:
        kind = e["kind"]
        if kind in ("sync", "report"):
            state = e.get("state") if kind == "sync" else f"reconciled: {e['grade']}"
            if kind == "report" or state in SHOWN_STATES:
                key = (e["pass"], str(state))
                syncs[key] = syncs.get(key, 0) + 1
                last_sync_at = e["at"]
            continue
        if kind == "ctp" and e["state"] not in SHOWN_STATES:
            continue
        flush_syncs()
        prev = out[-1] if out else None
        if kind == "email" and prev and prev["kind"] == "email" \
                and prev["template"] == e["template"] and prev["at"] == e["at"]:
            out[-1] = {**prev, "to": f"{prev['to']}, {e['to']}"}
            continue
        out.append(e)
    flush_syncs()
    return out
