"""R-RECONCILE for one mailbox: is every source message in scope at the target?

From the engine's own data, with no second download of the mailbox. A folder that is
as the last pass that copied all of it left it (STATUS: UIDVALIDITY, UIDNEXT and
HIGHESTMODSEQ as the ledger saved them) is counted from the ledger alone. Any other
selected source folder: its UID listing (FLAGS only, in the planner's UID windows) is set against
the ledger's done rows, whose sizes are the source's (IMAP messages never change). Only
the messages the ledger does not have are looked at more closely: their metadata
(size, date, Message-ID) from the source, then the target is searched for them by
Message-ID / content hash (a copy mailflip did not make still counts as present).
Those the target refused, or that were over the pass's size limit, are `skipped` with
the reason the ledger kept; the rest are `missing`. Subjects only when asked
(the order's report_subjects setting: privacy).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from mailflip.domain.reconcile import Absent, Reconciliation
from mailflip.sync.context import FolderWork, PassContext
from mailflip.sync.diff import match_entries
from mailflip.sync.endpoints import Endpoint, parse_endpoint
from mailflip.sync.folders import selected_folders
from mailflip.sync.ledger import DONE, Entry, FolderRow, Ledger
from mailflip.sync.names import path_of
from mailflip.sync.options import PassOptions
from mailflip.sync.plan import in_date_scope, source_unchanged, uid_windows
from mailflip.sync.recover import hasher
from mailflip.sync.report import PassReport
from mailflip.sync.session import Link
from mailflip.sync.stores.base import FolderStatus, MailStore, MessageMeta, StoreRefused
from mailflip.sync.throttle import Backoff


def reconcile_mailbox(
    source: str | Endpoint,
    target: str | Endpoint,
    state: str | Path | Ledger,
    options: PassOptions | None = None,
    subjects: bool = False,
) -> Reconciliation:
    """Reconcile the mailbox a pass (or several) copied into `state`'s ledger.
    Read-only on both servers and on the ledger."""
    opts = options or PassOptions()
    src_ep = source if isinstance(source, Endpoint) else parse_endpoint(source, "source")
    tgt_ep = target if isinstance(target, Endpoint) else parse_endpoint(target, "target")
    ledger = state if isinstance(state, Ledger) else Ledger.open(state)
    report = PassReport("reconcile", src_ep.display, tgt_ep.display)
    ctx = PassContext(src_ep, tgt_ep, opts, ledger, report,
                      Backoff(opts.backoff_base_s, opts.backoff_cap_s),
                      Backoff(opts.backoff_base_s, opts.backoff_cap_s))
    src, tgt = ctx.link("source"), ctx.link("target")
    rec = Reconciliation()
    try:
        known = ledger.folder_rows()
        for ref in selected_folders(ctx, src):
            shown = path_of(ref, src.store.prefix)
            _folder(ctx, src, tgt, (ref.wire, shown), known.get(ref.wire), rec, subjects)
    finally:
        src.close()
        tgt.close()
        if not isinstance(state, Ledger):
            ledger.close()
    rec.skipped.sort(key=lambda a: (a.folder, a.date, a.message_id))
    rec.missing.sort(key=lambda a: (a.folder, a.date, a.message_id))
    return rec


def _folder(ctx: PassContext, src: Link, tgt: Link, names: tuple[str, str],
            row: FolderRow | None, rec: Reconciliation, subjects: bool) -> None:
    folder, shown = names  # wire name (the ledger's key), path as people read it
    status = src.call(lambda s: s.status(folder))
    if (row is not None and source_unchanged(ctx.ledger, row, status)
            and _counted_from_ledger(ctx.ledger, row, status, rec)):
        return
    src.call(lambda s: None, folder=folder)  # EXAMINE
    uidvalidity = src.uidvalidity or status.uidvalidity
    work = FolderWork(folder, row.tgt_folder if row else "", uidvalidity, status)
    absent: list[int] = []
    for lo, hi in uid_windows(src, work, ctx.options.window_messages):
        listed = src.call(_flags(lo, hi), folder=folder,
                          expect_uidvalidity=uidvalidity)
        done = {e.src_uid: e for e in ctx.ledger.entries_between(folder, uidvalidity, lo, hi)
                if e.state == DONE}
        for uid in listed:
            entry = done.get(uid)
            if entry is None:
                absent.append(uid)
            else:
                rec.source_messages += 1
                rec.source_bytes += entry.size
                rec.present += 1
    if not absent:
        return
    metas = [m for m in src.call(lambda s: s.fetch_meta(absent), folder=folder,
                                 expect_uidvalidity=uidvalidity)
             if in_date_scope(ctx.options, m)]
    rec.source_messages += len(metas)
    rec.source_bytes += sum(m.size for m in metas)
    reasons = ctx.ledger.skip_reasons(folder, uidvalidity)
    refused = [m for m in metas if m.uid in reasons]
    rest = [m for m in metas if m.uid not in reasons]
    if rest and row is not None:
        found = _found_at_target(src, tgt, folder, uidvalidity, row.tgt_folder, rest, ctx.ledger)
        rec.present += len(found)
        rest = [m for m in rest if m.uid not in found]
    titles: dict[int, str] = {}
    if subjects and (refused or rest):
        uids = [m.uid for m in refused + rest]
        titles = src.call(_subjects(uids), folder=folder, expect_uidvalidity=uidvalidity)
    rec.skipped.extend(_absent(shown, m, titles, reasons[m.uid]) for m in refused)
    rec.missing.extend(_absent(shown, m, titles, "") for m in rest)


def _counted_from_ledger(ledger: Ledger, row: FolderRow, status: FolderStatus,
                         rec: Reconciliation) -> bool:
    """No listing needed when the done rows below UIDNEXT are exactly the folder's
    messages; False (list it) when some belong to messages since expunged at the source."""
    assert row.src_uidvalidity is not None and row.src_uidnext is not None
    count, size = ledger.done_totals(row.src_folder, row.src_uidvalidity, row.src_uidnext)
    if count != status.messages:
        return False
    rec.source_messages += count
    rec.source_bytes += size
    rec.present += count
    return True


def _flags(lo: int, hi: int | None) -> Callable[[MailStore], dict[int, frozenset[str]]]:
    return lambda s: s.fetch_flags(lo, hi)


def _subjects(uids: list[int]) -> Callable[[MailStore], dict[int, str]]:
    return lambda s: s.fetch_subjects(uids)


def _found_at_target(src: Link, tgt: Link, folder: str, uidvalidity: int, tgt_folder: str,
                     metas: list[MessageMeta], ledger: Ledger) -> set[int]:
    """Source UIDs of these messages that the target folder holds anyway (matched by
    Message-ID, or size + content hash without one), not counting copies the ledger owns."""
    try:
        candidates = tgt.call(lambda s: s.fetch_meta("1:*"), folder=tgt_folder, readonly=True)
    except StoreRefused:  # the target folder is gone or was never created
        return set()
    owned = ledger.target_uids(tgt_folder, tgt.uidvalidity)
    candidates = [m for m in candidates if m.uid not in owned]
    if not candidates:
        return set()
    hashless = [m.uid for m in metas if not m.message_id]
    hashes = hasher(src, folder, uidvalidity)(hashless) if hashless else {}
    probes = [Entry(folder, uidvalidity, m.uid, m.message_id, m.size, m.flags, tgt_folder,
                    content_hash=hashes.get(m.uid)) for m in metas]
    matched, _ = match_entries(probes, candidates, hasher(tgt, tgt_folder))
    return {entry.src_uid for entry, _ in matched}


def _absent(folder: str, meta: MessageMeta, titles: dict[int, str], reason: str) -> Absent:
    when = meta.internaldate
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return Absent(folder=folder, date=when.isoformat() if when else "", size=meta.size,
                  message_id=meta.message_id or "", reason=reason,
                  subject=titles.get(meta.uid, ""))
