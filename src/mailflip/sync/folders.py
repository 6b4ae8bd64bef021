"""Which source folders this pass covers and where each one goes on the target."""

from __future__ import annotations

from collections.abc import Callable

from mailflip.sync.context import PassContext
from mailflip.sync.ledger import FolderRow
from mailflip.sync.names import path_of, plan_folder_map, selected
from mailflip.sync.session import Link
from mailflip.sync.stores.base import FolderRef, MailStore, StoreFatal


def _create_folder(wire: str) -> Callable[[MailStore], None]:
    return lambda s: s.create_folder(wire)


def selected_folders(ctx: PassContext, src: Link) -> list[FolderRef]:
    """The source folders the pass's folder filters select, by wire name."""
    opts = ctx.options
    refs = src.call(lambda s: s.list_folders())
    if not refs:
        # Broken mountpoints (Zimbra) or a wrong Maildir path: never "copy" an empty mailbox.
        raise StoreFatal(f"{ctx.source.display} lists no folders at all (wrong path or account?)")
    prefix = src.store.prefix
    chosen = []
    for ref in sorted(refs, key=lambda r: r.wire):
        if ref.selectable and selected(path_of(ref, prefix), opts.include, opts.exclude):
            chosen.append(ref)
        else:
            ctx.report.add(folders_skipped=1)
    return chosen


def map_folders(ctx: PassContext, src: Link, tgt: Link) -> list[FolderRow]:
    """Ledger rows for every selected source folder; target folders created as needed."""
    opts, report = ctx.options, ctx.report
    chosen = selected_folders(ctx, src)
    prefix = src.store.prefix
    known = ctx.ledger.folder_rows()
    targets = tgt.call(lambda s: s.list_folders())
    existing = {t.wire for t in targets if t.selectable}
    mapping = {w: r.tgt_folder for w, r in known.items()}
    if any(ref.wire not in known for ref in chosen):
        mapping = plan_folder_map(
            chosen,
            prefix,
            targets,
            tgt.store.delimiter,
            tgt.store.prefix,
            mapping,
            opts.reserved_target_names,
        )
    rows = []
    for ref in chosen:
        row = known.get(ref.wire) or FolderRow(ref.wire, mapping[ref.wire])
        if row.tgt_folder not in existing:
            tgt.call(_create_folder(row.tgt_folder))
            existing.add(row.tgt_folder)
            report.add(folders_created=1)
        if ref.wire not in known:
            ctx.ledger.save_folder(row)
        rows.append(row)
    return rows
