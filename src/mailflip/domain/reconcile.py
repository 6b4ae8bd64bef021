"""R-RECONCILE: what a mailbox's reconciliation found, and its grade.

After every post-cutover pass, the messages at the source within the pass's scope are
set against those at the target that mailflip copied or matched. A message the target
refused is `skipped` (with the reason); any other absent message is `missing`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Grade(StrEnum):
    COMPLETE = "complete"  # nothing skipped or missing
    SKIPPED = "skipped"  # nothing missing; every skip has a reason
    GAPS = "gaps"  # something is missing


@dataclass
class Absent:
    """A source message not at the target: listed by folder, date, size, Message-ID."""

    folder: str
    date: str  # ISO 8601
    size: int
    message_id: str
    reason: str = ""  # why the target refused it (skipped); "" when missing
    subject: str = ""  # only with the order's report_subjects setting (privacy)


@dataclass
class Reconciliation:
    source_messages: int = 0
    source_bytes: int = 0
    present: int = 0  # at the target, copied or matched
    skipped: list[Absent] = field(default_factory=list)
    missing: list[Absent] = field(default_factory=list)

    @property
    def grade(self) -> Grade:
        if self.missing:
            return Grade.GAPS
        return Grade.SKIPPED if self.skipped else Grade.COMPLETE

    def counts(self) -> dict[str, int | str]:
        """The timeline's `report` line (SCENARIOS.md)."""
        return {"grade": self.grade.value, "source": self.source_messages,
                "target": self.present, "skipped": len(self.skipped),
                "missing": len(self.missing)}

    def to_dict(self) -> dict[str, Any]:
        """Counts and grade (as `counts`), source bytes and the per-message lists."""
        return {**self.counts(), "source_bytes": self.source_bytes,
                "skipped_messages": [asdict(a) for a in self.skipped],
                "missing_messages": [asdict(a) for a in self.missing]}
