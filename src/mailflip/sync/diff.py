"""Pure decisions: what to copy, which flags to push, which ledger rows match which messages."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from mailflip.sync.ledger import DONE, INTENT, Entry
from mailflip.sync.stores.base import MANAGED_FLAGS, NEVER_COPIED, MessageMeta

_ATOM_SPECIALS = set('(){ %*"\\]')


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def copyable_flags(flags: Iterable[str], drop_keywords: Iterable[str]) -> frozenset[str]:
    """System flags we manage plus clean keywords; never \\Deleted or \\Recent."""
    dropped = {k.lower() for k in drop_keywords}
    out = set()
    for flag in flags:
        if flag in NEVER_COPIED:
            continue
        if flag.startswith("\\"):
            if flag.capitalize() in MANAGED_FLAGS or flag in MANAGED_FLAGS:
                out.add(flag if flag in MANAGED_FLAGS else flag.capitalize())
            continue
        if flag.lower() in dropped or not flag.isascii() or not flag.isprintable():
            continue
        if _ATOM_SPECIALS & set(flag) or " " in flag:
            continue
        out.add(flag)
    return frozenset(out)


def accepted_by_target(flags: frozenset[str], permanent: frozenset[str] | None) -> frozenset[str]:
    """Keywords the target's PERMANENTFLAGS allow (None = anything)."""
    if permanent is None:
        return flags
    return frozenset(f for f in flags if f in MANAGED_FLAGS or f in permanent)


@dataclass
class FolderDiff:
    new_uids: list[int] = field(default_factory=list)
    flag_changes: list[tuple[Entry, frozenset[str]]] = field(default_factory=list)
    in_doubt: list[Entry] = field(default_factory=list)
    present: list[Entry] = field(default_factory=list)  # done and still at the source


def diff_folder(
    source_flags: Mapping[int, frozenset[str]],
    entries: Iterable[Entry],
    uidvalidity: int,
    drop_keywords: Iterable[str] = (),
) -> FolderDiff:
    """Compare the source folder (UID -> flags) with its ledger rows.

    Rows of another UIDVALIDITY are ignored here (re-matched first); rows
    whose message left the source are kept and never acted upon.
    """
    result = FolderDiff()
    known: dict[int, Entry] = {e.src_uid: e for e in entries if e.src_uidvalidity == uidvalidity}
    for uid, flags in source_flags.items():
        entry = known.get(uid)
        if entry is None:
            result.new_uids.append(uid)
        elif entry.state == INTENT:
            result.in_doubt.append(entry)
        else:
            result.present.append(entry)
            wanted = copyable_flags(flags, drop_keywords)
            if wanted != entry.flags:
                result.flag_changes.append((entry, wanted))
    result.new_uids.sort()
    return result


def match_entries(
    entries: Iterable[Entry],
    candidates: Iterable[MessageMeta],
    hash_of: Callable[[list[int]], Mapping[int, str]] | None = None,
) -> tuple[list[tuple[Entry, MessageMeta]], list[Entry]]:
    """Pair ledger rows with messages by Message-ID (same size preferred), or by
    size + content hash for messages without one. Each candidate is used at most
    once, so two source copies of one message need two target copies."""
    by_id: dict[str, list[MessageMeta]] = defaultdict(list)
    no_id: dict[int, list[MessageMeta]] = defaultdict(list)
    for meta in sorted(candidates, key=lambda m: m.uid):
        if meta.message_id:
            by_id[meta.message_id].append(meta)
        else:
            no_id[meta.size].append(meta)
    matched: list[tuple[Entry, MessageMeta]] = []
    unmatched: list[Entry] = []
    hashless: list[Entry] = []
    for entry in sorted(entries, key=lambda e: e.src_uid):
        if not entry.message_id:
            hashless.append(entry)
            continue
        pool = by_id.get(entry.message_id)
        if not pool:
            unmatched.append(entry)
            continue
        pick = next((m for m in pool if m.size == entry.size), pool[0])
        pool.remove(pick)
        matched.append((entry, pick))
    if hashless:
        wanted = [m.uid for e in hashless for m in no_id.get(e.size, ())]
        hashes = hash_of(sorted(set(wanted))) if (hash_of and wanted) else {}
        for entry in hashless:
            pool = no_id.get(entry.size, [])
            hit = next(
                (m for m in pool if entry.content_hash and hashes.get(m.uid) == entry.content_hash),
                None,
            )
            if hit is None:
                unmatched.append(entry)
                continue
            pool.remove(hit)
            matched.append((entry, hit))
    return matched, unmatched


def done_entry(entry: Entry, tgt_uidvalidity: int | None, tgt_uid: int | None) -> Entry:
    return replace(entry, state=DONE, tgt_uidvalidity=tgt_uidvalidity, tgt_uid=tgt_uid)
