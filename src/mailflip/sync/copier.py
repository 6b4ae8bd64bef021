"""Copy one chunk: fetch bodies, record intents, APPEND, confirm. Never a duplicate:
after any doubt (drop mid-APPEND, refusal of a batch) the target is searched first."""

from __future__ import annotations

from collections.abc import Callable

from mailflip.sync.context import FolderWork, PassContext
from mailflip.sync.diff import accepted_by_target, content_hash, copyable_flags, done_entry
from mailflip.sync.ledger import Entry
from mailflip.sync.recover import find_on_target
from mailflip.sync.report import ItemError
from mailflip.sync.session import Link
from mailflip.sync.stores.base import (
    AppendResult,
    MailStore,
    MessageMeta,
    OutgoingMessage,
    StoreFault,
    StoreRefused,
)

FLAGGED = "\\Flagged"


def _append_to(wire: str, messages: list[OutgoingMessage]) -> Callable[[MailStore], AppendResult]:
    return lambda s: s.append(wire, messages)


def _store_flags(uids: list[int], flags: frozenset[str], add: bool) -> Callable[[MailStore], None]:
    return lambda s: s.store_flags(uids, flags, add)


def copy_chunk(
    ctx: PassContext, src: Link, tgt: Link, work: FolderWork, chunk: list[MessageMeta]
) -> None:
    uids = [m.uid for m in chunk]
    bodies = src.call(
        lambda s: s.fetch_bodies(uids), folder=work.src_folder, expect_uidvalidity=work.uidvalidity
    )
    gone = [m for m in chunk if m.uid not in bodies]
    if gone:  # expunged at the source since planning
        ctx.report.add(messages_skipped=len(gone), bytes_skipped=sum(m.size for m in gone))
    pending: list[tuple[Entry, OutgoingMessage]] = []
    for meta in chunk:
        body = bodies.pop(meta.uid, None)
        if body is None:
            continue
        flags = copyable_flags(meta.flags, ctx.options.drop_keywords)
        entry = work.intent(meta, flags, None if meta.message_id else content_hash(body))
        sent = accepted_by_target(flags, work.permanent_flags)
        if ctx.options.flagged_via_store:
            sent = sent - {FLAGGED}
        pending.append((entry, OutgoingMessage(meta.uid, body, sent, meta.internaldate)))
    del bodies
    if not pending:
        return
    ctx.ledger.record_intents([e for e, _ in pending])
    _append(ctx, tgt, work, pending)


def _append(
    ctx: PassContext, tgt: Link, work: FolderWork, pending: list[tuple[Entry, OutgoingMessage]]
) -> None:
    attempt = 0
    while pending:
        floor = work.tgt_floor
        if not (ctx.options.use_uidplus and tgt.store.supports_uidplus):
            floor = tgt.call(lambda s: s.status(work.tgt_folder)).uidnext
        try:
            result = tgt.once(_append_to(work.tgt_folder, [o for _, o in pending]))
        except StoreFault as fault:
            attempt += 1
            tgt.fault(fault, attempt)  # re-raises once retries are exhausted
            pending = _settle(ctx, tgt, work, pending, floor)
            continue
        except StoreRefused as refusal:
            if len(pending) == 1:
                entry = pending[0][0]
                reason = f"target refused: {refusal}"
                ctx.ledger.drop([entry])
                ctx.ledger.record_skip(entry.src_folder, entry.src_uidvalidity, entry.src_uid,
                                       reason)
                ctx.report.error(
                    ItemError(work.src_folder, entry.src_uid, entry.message_id, reason)
                )
                work.failed = True
                return
            # Find the culprit one by one; a server without MULTIAPPEND may have stored some.
            pending = _settle(ctx, tgt, work, pending, floor)
            for item in pending:
                _append(ctx, tgt, work, [item])
            return
        if result.uids is not None and ctx.options.use_uidplus:
            confirmed = [
                done_entry(e, result.uidvalidity, uid)
                for (e, _), uid in zip(pending, result.uids, strict=True)
            ]
        else:
            found, missing = find_on_target(
                ctx, tgt, work.tgt_folder, [e for e, _ in pending], floor
            )
            # Stored (the server said OK) but not recognisable: done, target UID unknown.
            confirmed = found + [done_entry(e, result.uidvalidity, None) for e in missing]
        ctx.ledger.confirm(confirmed)
        if ctx.options.flagged_via_store:
            flagged = [e.tgt_uid for e in confirmed if FLAGGED in e.flags and e.tgt_uid is not None]
            if flagged:
                tgt.call(
                    _store_flags(flagged, frozenset({FLAGGED}), True),
                    folder=work.tgt_folder,
                    readonly=False,
                )
        ctx.report.add(
            messages_copied=len(pending), bytes_copied=sum(len(o.body) for _, o in pending)
        )
        return


def _settle(
    ctx: PassContext,
    tgt: Link,
    work: FolderWork,
    pending: list[tuple[Entry, OutgoingMessage]],
    floor: int | None,
) -> list[tuple[Entry, OutgoingMessage]]:
    """After an APPEND of unknown outcome: confirm what arrived, return what did not."""
    found, _ = find_on_target(ctx, tgt, work.tgt_folder, [e for e, _ in pending], floor)
    if found:
        ctx.ledger.confirm(found)
        keys = {e.key for e in found}
        arrived = [o for e, o in pending if e.key in keys]
        ctx.report.add(messages_copied=len(arrived), bytes_copied=sum(len(o.body) for o in arrived))
    keys = {e.key for e in found}
    return [(e, o) for e, o in pending if e.key not in keys]
