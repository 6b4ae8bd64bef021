"""Timeline events: what `mailflip simulate` prints and what the store mirrors.

One event per status entered, CTP state change, email sent, alert, task, hold change,
sync pass change and scenario action (SCENARIOS.md "Timeline").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class TimelineEvent:
    at: datetime
    kind: str  # status | ctp | email | alert | task | hold | sync | action | end
    data: dict[str, Any] = field(default_factory=dict)
    # (source, seq) is unique per order: "order" or "syncs" and a counter that
    # survives continue-as-new, so that a retried mirror write inserts nothing twice.
    source: str = "order"
    seq: int = 0

    def to_json_obj(self) -> dict[str, Any]:
        return {"at": iso_z(self.at), "kind": self.kind, **self.data}


def iso_z(at: datetime) -> str:
    """ISO 8601 UTC with a `Z`, to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_z_or_none(at: datetime | None) -> str | None:
    return iso_z(at) if at is not None else None
