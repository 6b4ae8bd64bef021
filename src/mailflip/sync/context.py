"""Everything one pass shares: endpoints, options, ledger, report, backoffs, links."""

from __future__ import annotations

from dataclasses import dataclass

from mailflip.sync.endpoints import Endpoint
from mailflip.sync.ledger import Entry, Ledger
from mailflip.sync.options import PassOptions
from mailflip.sync.report import PassReport
from mailflip.sync.session import Link
from mailflip.sync.stores.base import FolderStatus, MessageMeta
from mailflip.sync.throttle import Backoff


@dataclass
class PassContext:
    source: Endpoint
    target: Endpoint
    options: PassOptions
    ledger: Ledger
    report: PassReport
    src_backoff: Backoff
    tgt_backoff: Backoff

    def link(self, side: str) -> Link:
        endpoint, backoff = (
            (self.source, self.src_backoff) if side == "source" else (self.target, self.tgt_backoff)
        )
        return Link(
            endpoint, backoff, self.report, self.options.max_retries, self.options.timeout_s
        )


@dataclass
class FolderWork:
    """One source folder's copy job; the planner streams its chunks to the workers."""

    src_folder: str
    tgt_folder: str
    uidvalidity: int
    status: FolderStatus
    tgt_uidvalidity: int | None = None
    tgt_floor: int | None = None
    permanent_flags: frozenset[str] | None = None  # None: anything (once target_opened)
    target_opened: bool = False  # permanent_flags read from a read-write SELECT
    failed: bool = False  # an item error or abort: do not mark the folder as clean

    def intent(self, meta: MessageMeta, flags: frozenset[str], content_hash: str | None) -> Entry:
        return Entry(
            src_folder=self.src_folder,
            src_uidvalidity=self.uidvalidity,
            src_uid=meta.uid,
            message_id=meta.message_id,
            size=meta.size,
            flags=flags,
            tgt_folder=self.tgt_folder,
            content_hash=content_hash,
            tgt_uidvalidity=self.tgt_uidvalidity,
            tgt_floor=self.tgt_floor,
        )


def chunked(metas: list[MessageMeta], max_messages: int, max_bytes: int) -> list[list[MessageMeta]]:
    """Batches bounded by count and bytes; a message over max_bytes travels alone."""
    chunks: list[list[MessageMeta]] = []
    current: list[MessageMeta] = []
    size = 0
    for meta in metas:
        if current and (len(current) >= max_messages or size + meta.size > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(meta)
        size += meta.size
    if current:
        chunks.append(current)
    return chunks
