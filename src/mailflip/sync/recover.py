"""Find ledger rows' messages again: in-doubt APPENDs and UIDVALIDITY changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mailflip.sync.context import PassContext
from mailflip.sync.diff import content_hash, done_entry, match_entries
from mailflip.sync.ledger import Entry
from mailflip.sync.session import Link
from mailflip.sync.stores.base import MailStore, MessageMeta


def _fetch_bodies(uids: list[int]) -> Callable[[MailStore], dict[int, bytes]]:
    return lambda s: s.fetch_bodies(uids)


def hasher(
    link: Link, folder: str, expect_uidvalidity: int | None = None
) -> Callable[[list[int]], dict[int, str]]:
    """Content hashes of these UIDs' bodies, 50 at a time (optionally only while the
    folder keeps this UIDVALIDITY)."""

    def hash_of(uids: list[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for i in range(0, len(uids), 50):
            bodies = link.call(
                _fetch_bodies(uids[i : i + 50]),
                folder=folder,
                expect_uidvalidity=expect_uidvalidity,
            )
            out.update({uid: content_hash(body) for uid, body in bodies.items()})
        return out

    return hash_of


def find_on_target(
    ctx: PassContext, tgt: Link, tgt_folder: str, entries: list[Entry], floor: int | None
) -> tuple[list[Entry], list[Entry]]:
    """Which of these intents did reach the target? Looks only at UIDs >= floor
    (the target's UIDNEXT before the APPEND) and skips UIDs the ledger already owns.
    Returns (confirmed rows, rows not found)."""
    if not entries:
        return [], []
    start = max(floor or 1, 1)

    def scan(store: MailStore) -> list[MessageMeta]:
        return [m for m in store.fetch_meta(f"{start}:*") if m.uid >= start]

    metas = tgt.call(scan, folder=tgt_folder, readonly=True)
    uidvalidity = tgt.uidvalidity
    if any(e.tgt_uidvalidity not in (None, uidvalidity) for e in entries) and start > 1:
        return find_on_target(
            ctx, tgt, tgt_folder, [replace(e, tgt_uidvalidity=uidvalidity) for e in entries], 1
        )
    owned = ctx.ledger.target_uids(tgt_folder, uidvalidity)
    candidates = [m for m in metas if m.uid not in owned]
    matched, unmatched = match_entries(entries, candidates, hasher(tgt, tgt_folder))
    return [done_entry(e, uidvalidity, m.uid) for e, m in matched], unmatched


def rematch_source(
    ctx: PassContext, src: Link, src_folder: str, uidvalidity: int, entries: list[Entry]
) -> list[Entry]:
    """The source folder's UIDVALIDITY changed: re-key rows by Message-ID / content hash.
    Rows with no match are kept as "gone" (they still own their target copy)."""
    stale = [e for e in entries if e.src_uidvalidity != uidvalidity and e.state != "gone"]
    if not stale:
        return entries
    owned = {e.src_uid for e in entries if e.src_uidvalidity == uidvalidity}
    metas = [
        m for m in src.call(lambda s: s.fetch_meta("1:*"), folder=src_folder) if m.uid not in owned
    ]
    matched, unmatched = match_entries(stale, metas, hasher(src, src_folder))
    ctx.ledger.rekey(
        [(old, replace(old, src_uidvalidity=uidvalidity, src_uid=m.uid)) for old, m in matched]
    )
    ctx.ledger.mark_gone(unmatched)
    ctx.report.add(messages_rematched=len(matched))
    ctx.report.warnings.append(
        f"{src_folder}: source UIDVALIDITY changed; {len(matched)} messages re-matched, "
        f"{len(unmatched)} no longer at the source"
    )
    return ctx.ledger.entries(src_folder)


def rematch_target(
    ctx: PassContext, tgt: Link, tgt_folder: str, entries: list[Entry]
) -> list[Entry]:
    """The target folder's UIDVALIDITY changed: find our copies' new UIDs (for flag updates)."""
    metas = tgt.call(lambda s: s.fetch_meta("1:*"), folder=tgt_folder, readonly=True)
    matched, unmatched = match_entries(entries, metas, hasher(tgt, tgt_folder))
    rows = [done_entry(e, tgt.uidvalidity, m.uid) for e, m in matched]
    ctx.ledger.set_flags(rows)
    ctx.ledger.forget(unmatched)  # our copy is gone from the target: copy it again
    ctx.report.add(messages_rematched=len(matched))
    ctx.report.warnings.append(
        f"{tgt_folder}: target UIDVALIDITY changed; {len(matched)} copies re-matched, "
        f"{len(unmatched)} missing and copied again"
    )
    return rows
