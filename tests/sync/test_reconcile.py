"""R-RECONCILE on real Dovecot: the engine's reconciliation from its listing and ledger."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, date, datetime
from pathlib import Path

from mailflip.domain.reconcile import Grade
from mailflip.sync import PassOptions, run_pass
from mailflip.sync.reconcile import reconcile_mailbox
from tests.sync.dovecot import Dovecot
from tests.sync.mail import connect, make_msg, put

_n = itertools.count(1)


def user(server: Dovecot, role: str) -> str:
    return server.add_user(f"rc{role}{os.environ.get('PYTEST_XDIST_WORKER', 'gw')}n{next(_n)}")


def test_r_reconcile_skipped_with_reason_then_gaps_then_skipped_only(
    dovecot: Dovecot, limited_dovecot: Dovecot, tmp_path: Path
):
    src, dst = user(dovecot, "s"), user(limited_dovecot, "t")
    big = make_msg(99, size=100_000, tag="big")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(4)] + [big],
                       "Archive": [make_msg(i, tag="a") for i in range(2)]})
    source, target, state = dovecot.url(src), limited_dovecot.url(dst), tmp_path / "state"

    first = run_pass(source, target, state, "final")
    assert first.messages_copied == 6 and len(first.item_errors) == 1
    late = make_msg(7, tag="late")  # arrives at the source after the pass
    put(dovecot, src, {"Archive": [late]})

    rec = reconcile_mailbox(source, target, state)
    assert rec.grade is Grade.GAPS
    assert (rec.source_messages, rec.present) == (8, 6)
    assert rec.source_bytes == sum(len(m.body) for m in
                                   [*(make_msg(i) for i in range(4)), big, late,
                                    *(make_msg(i, tag="a") for i in range(2))])
    [skip] = rec.skipped
    assert (skip.folder, skip.message_id, skip.size) == ("INBOX", big.message_id, len(big.body))
    assert "target refused" in skip.reason and "size" in skip.reason.lower()
    assert skip.date.startswith(big.date.date().isoformat()) and skip.subject == ""
    [gap] = rec.missing
    assert (gap.folder, gap.message_id, gap.reason) == ("Archive", late.message_id, "")

    run_pass(source, target, state, "sweep")
    again = reconcile_mailbox(source, target, state, subjects=True)
    assert again.grade is Grade.SKIPPED and not again.missing
    assert (again.source_messages, again.present) == (8, 7)
    assert again.skipped[0].subject == "test message 99 big"  # only with report_subjects


def test_r_reconcile_complete_counts_copies_mailflip_did_not_make(dovecot: Dovecot,
                                                                    tmp_path: Path):
    src, dst = user(dovecot, "s"), user(dovecot, "t")
    put(dovecot, src, {"INBOX": [make_msg(i, tag="c") for i in range(3)]})
    source, target, state = dovecot.url(src), dovecot.url(dst), tmp_path / "state"
    run_pass(source, target, state, "final")
    both = make_msg(5, tag="c")  # delivered to both sides (e.g. after the MX flip)
    put(dovecot, src, {"INBOX": [both]})
    put(dovecot, dst, {"INBOX": [both]})
    rec = reconcile_mailbox(source, target, state)
    assert rec.grade is Grade.COMPLETE
    assert (rec.source_messages, rec.present, rec.skipped, rec.missing) == (4, 4, [], [])


def test_r_reconcile_keeps_to_the_pass_scope(dovecot: Dovecot, tmp_path: Path):
    """Date and folder filters: what the pass was not asked to copy is not missing;
    a folder created at the source after the pass is."""
    src, dst = user(dovecot, "s"), user(dovecot, "t")
    old = make_msg(1, tag="old", date=datetime(2019, 5, 1, tzinfo=UTC))
    put(dovecot, src, {"INBOX": [old, make_msg(2, tag="new")],
                       "Spam": [make_msg(3, tag="spam")]})
    opts = PassOptions(since=date(2023, 1, 1), exclude=("Spam",), max_message_size=100_000)
    source, target, state = dovecot.url(src), dovecot.url(dst), tmp_path / "state"
    run_pass(source, target, state, "final", opts)
    assert reconcile_mailbox(source, target, state, opts).grade is Grade.COMPLETE

    with connect(dovecot, src) as c:
        c.create_folder("Projects")
    huge, project = make_msg(5, size=120_000, tag="huge"), make_msg(4, tag="p")
    put(dovecot, src, {"Projects": [project], "INBOX": [huge]})
    rec = reconcile_mailbox(source, target, state, opts)
    assert [(a.folder, a.message_id) for a in rec.missing] == [
        ("INBOX", huge.message_id), ("Projects", project.message_id)]
    assert rec.source_messages == 3  # old (before since) and Spam (excluded) are out of scope

    run_pass(source, target, state, "sweep", opts)
    rec = reconcile_mailbox(source, target, state, opts)
    assert rec.grade is Grade.SKIPPED and not rec.missing
    [skip] = rec.skipped
    assert skip.reason.startswith("too large") and skip.size > 100_000


def test_r_reconcile_unchanged_folder_counts_from_the_ledger_exactly(dovecot: Dovecot,
                                                                      tmp_path: Path):
    """A folder as the last clean pass left it is counted without a listing; after an
    expunge at the source the counts still match the source, not the ledger's history."""
    src, dst = user(dovecot, "s"), user(dovecot, "t")
    msgs = [make_msg(i, tag="u") for i in range(4)]
    put(dovecot, src, {"INBOX": msgs})
    source, target, state = dovecot.url(src), dovecot.url(dst), tmp_path / "state"
    run_pass(source, target, state, "final")
    rec = reconcile_mailbox(source, target, state)
    assert (rec.grade, rec.source_messages, rec.present) == (Grade.COMPLETE, 4, 4)
    assert rec.source_bytes == sum(len(m.body) for m in msgs)

    with connect(dovecot, src) as c:
        c.select_folder("INBOX")
        c.delete_messages(c.search("ALL")[:1])
        c.expunge()
    rec = reconcile_mailbox(source, target, state)
    assert (rec.grade, rec.source_messages, rec.present) == (Grade.COMPLETE, 3, 3)
    assert rec.source_bytes == sum(len(m.body) for m in msgs[1:])
