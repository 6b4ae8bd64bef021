"""The MailStore port: what the engine needs from a mailbox, IMAP or Maildir."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailflip.errors import MailflipError

MANAGED_FLAGS = frozenset({"\\Seen", "\\Answered", "\\Flagged", "\\Draft"})
# Never copied: \Recent is session state, \Deleted would make the copy disappear on expunge.
NEVER_COPIED = frozenset({"\\Recent", "\\Deleted"})


class StoreFault(MailflipError):
    """A transient failure (drop, BYE, throttle): reconnect, back off, retry.

    `delay_s` is the server's suggested backoff when it gave one.
    """

    def __init__(self, message: str, delay_s: float | None = None, throttled: bool = False) -> None:
        super().__init__(message)
        self.delay_s = delay_s
        self.throttled = throttled


class StoreRefused(MailflipError):
    """The server refused this command for these items (too large, malformed): no retry."""


class StoreFatal(MailflipError):
    """Retrying will not help (authentication failed, folder cannot be created)."""


@dataclass(frozen=True)
class FolderRef:
    wire: str  # exact name on the wire (modified UTF-7 for IMAP): the ledger key
    delimiter: str | None
    flags: frozenset[str]  # LIST attributes incl. SPECIAL-USE (\Sent, \Noselect, ...)

    @property
    def selectable(self) -> bool:
        lowered = {f.lower() for f in self.flags}
        return not ({"\\noselect", "\\nonexistent"} & lowered)


@dataclass(frozen=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int
    messages: int
    highestmodseq: int | None = None


@dataclass(frozen=True)
class MessageMeta:
    uid: int
    size: int
    internaldate: datetime | None
    flags: frozenset[str]
    message_id: str | None


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to APPEND; `body` is the only copy of its bytes we hold."""

    src_uid: int
    body: bytes
    flags: frozenset[str]
    internaldate: datetime | None


@dataclass(frozen=True)
class AppendResult:
    uidvalidity: int | None
    uids: list[int] | None  # target UIDs in order when the server said (APPENDUID)


class MailStore(Protocol):
    delimiter: str
    prefix: str  # personal namespace prefix, e.g. "INBOX." on Courier; "" usually
    supports_condstore: bool
    supports_uidplus: bool

    def close(self) -> None: ...
    def list_folders(self) -> list[FolderRef]: ...
    def create_folder(self, wire: str) -> None: ...
    def status(self, wire: str) -> FolderStatus: ...
    def select(self, wire: str, readonly: bool) -> tuple[int, frozenset[str] | None]:
        """Open a folder; returns (UIDVALIDITY, permanent flags or None = anything goes)."""
        ...

    def uid_at(self, seq: int) -> int | None:
        """UID of the selected folder's seq-th message (1-based) in UID order; None past the end.
        Only sizes planning windows: a window is a UID range, so a stale answer is harmless."""
        ...

    def fetch_flags(self, lo: int = 1, hi: int | None = None) -> dict[int, frozenset[str]]:
        """Flags of the selected folder's messages with lo <= UID <= hi (None: no upper bound)."""
        ...

    def fetch_meta(self, uids: Iterable[int] | str) -> list[MessageMeta]:
        """Metadata of these UIDs, or of an IMAP UID range such as "5:*" (a store may
        answer a range with more messages than it covers: callers filter by UID)."""
        ...

    def fetch_subjects(self, uids: list[int]) -> dict[int, str]:
        """Subjects by UID (reconciliation reports with the order's report_subjects on)."""
        ...

    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]:
        """Bodies by UID (expunged ones missing); the caller owns the dict and may pop from it."""
        ...

    def append(self, wire: str, messages: list[OutgoingMessage]) -> AppendResult: ...
    def store_flags(self, uids: list[int], flags: frozenset[str], add: bool) -> None: ...
