"""The ledger (stdlib sqlite3, old state dirs too) and the pure diff / matching (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailflip.sync.diff import copyable_flags, diff_folder, done_entry, match_entries
from mailflip.sync.ledger import DONE, INTENT, Entry, FolderRow, Ledger
from mailflip.sync.stores.base import MessageMeta

FLAGS = [
    "\\Seen",
    "\\Flagged",
    "\\Answered",
    "\\Draft",
    "\\Deleted",
    "\\Recent",
    "$Work",
    "$MDNSent",
]
flag_sets = st.frozensets(st.sampled_from(FLAGS), max_size=4)


def _entry(uid, state=DONE, flags=frozenset(), uv=7, mid=None, size=100):
    return Entry(
        "INBOX", uv, uid, mid or f"<{uid}@x>", size, flags, "INBOX", state=state, tgt_uid=uid + 1000
    )


@settings(max_examples=200)
@given(
    st.dictionaries(st.integers(1, 300), flag_sets, max_size=60),
    st.dictionaries(
        st.integers(1, 300), st.tuples(st.sampled_from([DONE, INTENT]), flag_sets), max_size=60
    ),
)
def test_diff_copies_exactly_the_unknown_and_flags_only_what_changed(source, ledger_rows):
    entries = [
        _entry(uid, state, copyable_flags(flags, ())) for uid, (state, flags) in ledger_rows.items()
    ]
    entries.append(_entry(5, uv=3))  # another UIDVALIDITY: never counts as known
    diff = diff_folder(source, entries, 7, ("$MDNSent",))
    known = {uid for uid in ledger_rows}
    assert set(diff.new_uids) == set(source) - known
    assert {e.src_uid for e in diff.in_doubt} == {
        u for u in source if ledger_rows.get(u, ("", 0))[0] == INTENT
    }
    for entry, wanted in diff.flag_changes:
        assert wanted == copyable_flags(source[entry.src_uid], ("$MDNSent",)) != entry.flags
        assert not wanted & {"\\Deleted", "\\Recent", "$MDNSent"}
    # Applying the diff converges: nothing left to do.
    after = [e for e in entries if e.src_uid not in {x.src_uid for x, _ in diff.flag_changes}]
    after += [Entry(**{**e.__dict__, "flags": w}) for e, w in diff.flag_changes]
    # In-doubt rows found on the target are confirmed, then get the source's current flags.
    after = [
        Entry(
            **{
                **done_entry(e, 1, 1).__dict__,
                "flags": copyable_flags(source[e.src_uid], ("$MDNSent",)),
            }
        )
        if e.state == INTENT and e.src_uid in source
        else e
        for e in after
    ]
    after += [
        _entry(uid, flags=copyable_flags(source[uid], ("$MDNSent",))) for uid in diff.new_uids
    ]
    again = diff_folder(source, after, 7, ("$MDNSent",))
    assert not again.new_uids and not again.flag_changes and not again.in_doubt


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(["<a>", "<b>", "<c>", None]), st.integers(1, 3)), max_size=12
    ),
    st.randoms(),
)
def test_matching_pairs_each_message_at_most_once(messages, rnd):
    entries = [
        Entry("F", 1, i, mid, size, frozenset(), "F", content_hash=f"h{mid}{size}")
        for i, (mid, size) in enumerate(messages)
    ]
    candidates = [
        MessageMeta(100 + i, size, None, frozenset(), mid) for i, (mid, size) in enumerate(messages)
    ]
    rnd.shuffle(candidates)
    hashes = {m.uid: f"h{m.message_id}{m.size}" for m in candidates}
    matched, unmatched = match_entries(
        entries, candidates, lambda uids: {u: hashes[u] for u in uids}
    )
    assert len(matched) == len(entries) and not unmatched
    assert len({m.uid for _, m in matched}) == len(matched)
    for entry, meta in matched:
        assert entry.message_id == meta.message_id
    fewer, missing = match_entries(
        entries, candidates[: len(candidates) // 2], lambda u: {x: hashes[x] for x in u}
    )
    assert len(fewer) + len(missing) == len(entries)


def test_ledger_keeps_mailboxes_sharing_one_file_apart(tmp_path):
    a, b = Ledger.open(tmp_path, mailbox="alice"), Ledger.open(tmp_path, mailbox="bob")
    a.record_intents([_entry(1, INTENT), _entry(2, INTENT)])
    a.confirm([done_entry(_entry(1, INTENT), 9, 501)])
    a.drop([_entry(2, INTENT)])
    a.save_folder(FolderRow("INBOX", "INBOX", 7, 3, 11, 9))
    assert [(e.src_uid, e.state, e.tgt_uid) for e in a.entries("INBOX")] == [(1, DONE, 501)]
    assert b.entries("INBOX") == [] and b.folder_rows() == {}
    assert a.folder_rows()["INBOX"].src_modseq == 11
    assert a.target_uids("INBOX", 9) == {501}


def test_intents_survive_reopening_the_state_dir(tmp_path):
    first = Ledger.open(tmp_path)
    first.record_intents([_entry(1, INTENT)])
    first.close()
    assert Ledger.open(tmp_path).count(INTENT) == 1


def test_a_state_dir_written_by_the_sqlalchemy_ledger_opens_and_resumes(tmp_path):
    """A ledger of 2026-12-07 (SQLAlchemy Core, dumped with `sqlite3 .dump`): its done
    rows, intent, skip and pass mark read back, and new rows take ids after the old."""
    import sqlite3
    from pathlib import Path

    dump = Path(__file__).parent / "data" / "ledger-sqlalchemy-2026-12-07.sql"
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        db.executescript(dump.read_text())
    ledger = Ledger.open(tmp_path)
    rows = {e.src_uid: (e.state, e.tgt_uid, e.flags) for e in ledger.entries("INBOX")}
    assert rows == {1: (DONE, 501, frozenset({"\\Seen"})), 2: (DONE, 502, frozenset({"\\Seen"})),
                    3: (INTENT, None, frozenset({"\\Seen"}))}
    assert ledger.folder_rows()["INBOX"] == FolderRow("INBOX", "INBOX", 7, 4, 11, 9)
    assert ledger.skip_reasons("INBOX", 7) == {3: "target refused: too big"}
    assert ledger.target_uids("INBOX", 9) == {501, 502}
    assert ledger.mark_pass("pass", resumed=True) == (0, 0)  # marked after its 3 rows
    ledger.record_intents([_entry(4, INTENT)])
    ledger.confirm([done_entry(_entry(4, INTENT), 9, 503)])
    assert ledger.mark_pass("pass", resumed=True) == (1, 100)  # the new row, id 4
    assert ledger.mark_pass("pass2", resumed=False) == (0, 0)
    assert ledger.count(DONE) == 3 and ledger.count() == 4
