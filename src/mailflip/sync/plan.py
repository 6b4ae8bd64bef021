"""Plan one folder in UID windows: what is new, what is in doubt, which flags changed;
push flag changes and stream the copy chunks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, time

from mailflip.sync.context import FolderWork, PassContext, chunked
from mailflip.sync.diff import copyable_flags, diff_folder
from mailflip.sync.ledger import DONE, Entry, FolderRow, Ledger
from mailflip.sync.options import PassOptions
from mailflip.sync.recover import find_on_target, rematch_source, rematch_target
from mailflip.sync.report import ItemError
from mailflip.sync.session import Link
from mailflip.sync.stores.base import FolderStatus, MailStore, MessageMeta

Emit = Callable[[FolderWork, list[MessageMeta]], None]


def _uid_at(seq: int) -> Callable[[MailStore], int | None]:
    return lambda s: s.uid_at(seq)


def _store_flags(uids: list[int], flags: frozenset[str], add: bool) -> Callable[[MailStore], None]:
    return lambda s: s.store_flags(uids, flags, add)


def source_unchanged(ledger: Ledger, row: FolderRow, status: FolderStatus) -> bool:
    """The source folder is as the last pass that copied all of it left it (STATUS /
    CONDSTORE against the row that pass saved) and no intent is in doubt: every message
    in it has a done row."""
    return (
        row.src_modseq is not None
        and (row.src_uidvalidity, row.src_uidnext, row.src_modseq)
        == (status.uidvalidity, status.uidnext, status.highestmodseq)
        and not ledger.has_intents(row.src_folder)
    )


def plan_folder(
    ctx: PassContext, src: Link, tgt: Link, row: FolderRow, emit: Emit
) -> FolderWork | None:
    """Diff one folder against the ledger window by window (UID ranges of about
    `options.window_messages`), handing each chunk to copy to `emit` as soon as it is
    known: memory depends on the window, not on the folder. Returns the folder's job,
    or None when the folder is unchanged."""
    report, ledger = ctx.report, ctx.ledger
    status = src.call(lambda s: s.status(row.src_folder))
    tgt_status = tgt.call(lambda s: s.status(row.tgt_folder))
    unchanged = row.tgt_uidvalidity == tgt_status.uidvalidity and source_unchanged(
        ledger, row, status
    )
    report.add(folders_seen=1)
    if unchanged:
        report.add(
            folders_unchanged=1, messages_seen=status.messages, messages_skipped=status.messages
        )
        return None

    src.call(lambda s: None, folder=row.src_folder)  # EXAMINE: the UIDVALIDITY we plan under
    uidvalidity = src.uidvalidity or status.uidvalidity
    # Rare re-keying after a UIDVALIDITY change reads the whole folder's rows.
    if ledger.has_stale(row.src_folder, uidvalidity):
        rematch_source(ctx, src, row.src_folder, uidvalidity, ledger.entries(row.src_folder))
    if row.tgt_uidvalidity is not None and row.tgt_uidvalidity != tgt_status.uidvalidity:
        moved = [
            e
            for e in ledger.entries(row.src_folder)
            if e.state == DONE and e.tgt_uidvalidity != tgt_status.uidvalidity
        ]
        if moved:
            rematch_target(ctx, tgt, row.tgt_folder, moved)
    work = FolderWork(
        row.src_folder,
        row.tgt_folder,
        uidvalidity,
        status,
        tgt_uidvalidity=tgt_status.uidvalidity,
        tgt_floor=tgt_status.uidnext,
    )
    for lo, hi in uid_windows(src, work, ctx.options.window_messages):
        _plan_window(ctx, src, tgt, work, lo, hi, emit)
    return work


def uid_windows(src: Link, work: FolderWork, size: int) -> Iterator[tuple[int, int | None]]:
    """Consecutive UID ranges covering every UID >= 1, about `size` messages each; the last
    is open-ended (hi None) so messages arriving meanwhile are still seen exactly once."""
    lo, seq = 1, size
    while seq < work.status.messages:
        hi = src.call(
            _uid_at(seq),
            folder=work.src_folder,
            expect_uidvalidity=work.uidvalidity,
        )
        if hi is None:  # the folder shrank under us: the open window takes the rest
            break
        if hi >= lo:
            yield lo, hi
            lo = hi + 1
        seq += size
    yield lo, None


def _plan_window(
    ctx: PassContext, src: Link, tgt: Link, work: FolderWork, lo: int, hi: int | None, emit: Emit
) -> None:
    report, ledger = ctx.report, ctx.ledger
    flags = src.call(
        lambda s: s.fetch_flags(lo, hi), folder=work.src_folder, expect_uidvalidity=work.uidvalidity
    )
    entries = ledger.entries_between(work.src_folder, work.uidvalidity, lo, hi)
    diff = diff_folder(flags, entries, work.uidvalidity, ctx.options.drop_keywords)
    del entries
    report.add(
        messages_seen=len(flags),
        messages_skipped=len(diff.present),
        bytes_seen=sum(e.size for e in diff.present),
        bytes_skipped=sum(e.size for e in diff.present),
    )

    new_uids = list(diff.new_uids)
    if diff.in_doubt:
        confirmed, missing = find_on_target(ctx, tgt, work.tgt_folder, diff.in_doubt, None)
        ledger.confirm(confirmed)
        ledger.drop(missing)
        # The crashed pass appended the flags of its day; bring them up to date now.
        for entry in confirmed:
            wanted = copyable_flags(flags[entry.src_uid], ctx.options.drop_keywords)
            if wanted != entry.flags:
                diff.flag_changes.append((entry, wanted))
        report.add(messages_rematched=len(confirmed), messages_skipped=len(confirmed))
        new_uids = sorted(new_uids + [e.src_uid for e in missing])
    if diff.flag_changes:
        push_flags(ctx, tgt, work.tgt_folder, diff.flag_changes)
    del flags, diff
    if not new_uids:
        return

    metas = src.call(
        lambda s: s.fetch_meta(new_uids),
        folder=work.src_folder,
        expect_uidvalidity=work.uidvalidity,
    )
    report.add(bytes_seen=sum(m.size for m in metas))
    to_copy = [m for m in metas if _in_scope(ctx, work, m)]
    if to_copy and not work.target_opened:
        # Read-write SELECT: EXAMINE reports no permanent flags at all.
        work.permanent_flags = tgt.call(
            lambda s: tgt.permanent_flags, folder=work.tgt_folder, readonly=False
        )
        work.target_opened = True
    for chunk in chunked(to_copy, ctx.options.batch_messages, ctx.options.batch_bytes):
        emit(work, chunk)


def in_date_scope(opts: PassOptions, meta: MessageMeta) -> bool:
    """Within the pass's since / before filters (by INTERNALDATE)?"""
    when = meta.internaldate
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return not (
        (opts.since and when and when < datetime.combine(opts.since, time(), UTC))
        or (opts.before and when and when >= datetime.combine(opts.before, time(), UTC))
    )


def _in_scope(ctx: PassContext, work: FolderWork, meta: MessageMeta) -> bool:
    opts = ctx.options
    if not in_date_scope(opts, meta):
        ctx.report.add(messages_skipped=1, bytes_skipped=meta.size)
        return False
    if opts.max_message_size is not None and meta.size > opts.max_message_size:
        reason = f"too large: {meta.size} bytes > max_message_size {opts.max_message_size}"
        ctx.report.error(ItemError(work.src_folder, meta.uid, meta.message_id, reason))
        ctx.ledger.record_skip(work.src_folder, work.uidvalidity, meta.uid, reason)
        work.failed = True
        return False
    return True


def push_flags(
    ctx: PassContext, tgt: Link, tgt_folder: str, changes: list[tuple[Entry, frozenset[str]]]
) -> None:
    """Apply source flag changes to our copies: only the difference, grouped per flag."""
    adds: dict[str, list[int]] = defaultdict(list)
    removes: dict[str, list[int]] = defaultdict(list)
    updated: list[Entry] = []
    for entry, wanted in changes:
        if entry.tgt_uid is None:
            continue
        for flag in wanted - entry.flags:
            adds[flag].append(entry.tgt_uid)
        for flag in entry.flags - wanted:
            removes[flag].append(entry.tgt_uid)
        updated.append(replace(entry, flags=wanted))
    for flag, uids in adds.items():
        tgt.call(
            _store_flags(uids, frozenset({flag}), True),
            folder=tgt_folder,
            readonly=False,
        )
    for flag, uids in removes.items():
        tgt.call(
            _store_flags(uids, frozenset({flag}), False),
            folder=tgt_folder,
            readonly=False,
        )
    ctx.ledger.set_flags(updated)
    ctx.report.add(flags_updated=len(updated))
