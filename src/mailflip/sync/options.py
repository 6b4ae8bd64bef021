"""Per-pass settings: validated once, then read-only for the whole pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from mailflip.errors import InvalidInput

# Keywords that only cause trouble on the target (Exchange turns keywords into
# categories; $MDNSent appeared on every message, junk keywords confuse filters).
DEFAULT_DROP_KEYWORDS = ("$MDNSent", "$Junk", "$NotJunk", "Junk", "NonJunk")


@dataclass(frozen=True)
class PassOptions:
    """What one pass copies and how hard it pushes the servers.

    include / exclude: shell-style globs on the source folder path written with
    "/" between levels (e.g. "Archive/*"); exclude wins. since / before: copy
    only messages whose INTERNALDATE is on/after `since` and before `before`.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    since: date | None = None
    before: date | None = None
    connections: int = 4  # copy workers per mailbox; each holds one source + one target connection
    batch_messages: int = 200
    batch_bytes: int = 16 * 1024 * 1024
    window_messages: int = 2000  # planning reads flags / ledger rows this many messages at a time
    max_message_size: int | None = None  # e.g. Exchange Online MaxReceiveSize; larger = item error
    drop_keywords: tuple[str, ...] = DEFAULT_DROP_KEYWORDS
    flagged_via_store: bool = False  # Exchange: \Flagged set at APPEND is not seen by clients
    use_uidplus: bool = True  # False: confirm every APPEND by Message-ID, as without UIDPLUS
    use_condstore: bool = True  # skip unchanged folders by HIGHESTMODSEQ
    reserved_target_names: tuple[str, ...] = ()  # e.g. ("Files",) for Exchange Online
    progress_interval_s: float = 1.0
    max_retries: int = 8  # consecutive faults on one unit of work before the pass gives up
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 600.0
    timeout_s: float = 120.0  # socket timeout per IMAP connection
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        positive = {
            "connections": self.connections,
            "batch_messages": self.batch_messages,
            "batch_bytes": self.batch_bytes,
            "window_messages": self.window_messages,
            "max_retries": self.max_retries,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise InvalidInput(name, f"must be a positive integer, got {value!r}")
        if self.connections > 32:
            raise InvalidInput("connections", "at most 32 per mailbox")
        if self.max_message_size is not None and self.max_message_size < 1:
            raise InvalidInput("max_message_size", "must be positive when set")
        for name in ("progress_interval_s", "backoff_base_s", "backoff_cap_s", "timeout_s"):
            if getattr(self, name) <= 0:
                raise InvalidInput(name, "must be > 0")
        if self.since and self.before and self.since >= self.before:
            raise InvalidInput("since", f"{self.since} is not before --before {self.before}")
        for name in ("include", "exclude", "drop_keywords", "reserved_target_names"):
            if isinstance(getattr(self, name), str):
                raise InvalidInput(name, "must be a sequence of strings, not one string")
