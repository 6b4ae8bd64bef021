"""What a pass did: counts, item errors, timing. Plain data, JSON-ready."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class ItemError:
    """One message (or folder) the pass could not copy; the pass itself went on."""

    folder: str
    uid: int | None
    message_id: str | None
    reason: str


@dataclass(frozen=True)
class Progress:
    """Snapshot handed to progress_cb (the Temporal activity heartbeats with it)."""

    folder: str
    folders_done: int
    folders_total: int
    messages_copied: int
    messages_to_copy: int
    bytes_copied: int
    bytes_to_copy: int


@dataclass
class PassReport:
    pass_name: str
    source: str
    target: str
    started_at: str = ""
    duration_s: float = 0.0
    folders_seen: int = 0
    folders_created: int = 0
    folders_skipped: int = 0  # excluded by filters or not selectable
    folders_unchanged: int = 0  # nothing new since the last pass (STATUS / CONDSTORE)
    messages_seen: int = 0
    messages_copied: int = 0
    messages_skipped: int = 0  # already on the target, or outside the date filter
    messages_rematched: int = 0  # ledger re-keyed after a UIDVALIDITY change or a crash
    bytes_seen: int = 0
    bytes_copied: int = 0
    bytes_skipped: int = 0
    flags_updated: int = 0
    throttled: int = 0
    reconnects: int = 0
    item_errors: list[ItemError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    throughput_msgs_s: float = 0.0
    throughput_mb_s: float = 0.0
    complete: bool = False  # every message in scope is on the target (item errors aside)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, **counts: int) -> None:
        """Thread-safe increment of counters (workers share one report)."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def error(self, item: ItemError) -> None:
        with self._lock:
            self.item_errors.append(item)

    def finish(self, duration_s: float) -> None:
        self.duration_s = round(duration_s, 4)
        if duration_s > 0:
            self.throughput_msgs_s = round(self.messages_copied / duration_s, 1)
            self.throughput_mb_s = round(self.bytes_copied / duration_s / 1e6, 2)

    def to_dict(self) -> dict[str, object]:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        data["item_errors_count"] = len(self.item_errors)
        return data
