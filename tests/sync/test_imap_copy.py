"""Full and incremental copies between two real Dovecot accounts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mailflip.sync import PassOptions, run_pass
from tests.sync.mail import ids_by_folder, make_msg, put, snapshot


def test_full_copy_keeps_bytes_flags_dates_and_folders(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    folders = {
        "INBOX": [make_msg(i, flags=("\\Seen",) if i % 2 else ()) for i in range(12)],
        "Archive/2023": [
            make_msg(100 + i, flags=("\\Flagged", "\\Answered", "$Work")) for i in range(5)
        ],
        "Projects": [make_msg(200, flags=("\\Draft",))],
    }
    put(dovecot, src, folders)
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert report.messages_copied == 18 and report.complete
    assert report.item_errors == []
    before, after = snapshot(dovecot, src), snapshot(dovecot, dst)
    assert set(after) == set(before)
    for name, snap in before.items():
        assert sorted(after[name].messages) == sorted(snap.messages), name  # bytes, flags, dates


def test_second_pass_copies_only_new_messages_and_propagates_flags(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(10)]})
    first = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert first.messages_copied == 10
    put(dovecot, src, {"INBOX": [make_msg(50 + i) for i in range(3)]})
    from tests.sync.mail import connect

    with connect(dovecot, src) as c:
        c.select_folder("INBOX")
        uids = sorted(c.search("ALL"))
        c.add_flags(uids[:2], [b"\\Seen", b"\\Flagged"])
        c.remove_flags(uids[:1], [b"\\Flagged"])
    second = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert second.messages_copied == 3
    assert second.flags_updated == 2
    assert sorted(snapshot(dovecot, dst)["INBOX"].messages) == sorted(
        snapshot(dovecot, src)["INBOX"].messages
    )
    third = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert (third.messages_copied, third.flags_updated, third.folders_unchanged) == (0, 0, 1)


def test_source_is_never_modified(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(5)], "Old": [make_msg(9)]})
    before = snapshot(dovecot, src)
    run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    after = snapshot(dovecot, src)
    assert {k: v.messages for k, v in after.items()} == {k: v.messages for k, v in before.items()}
    assert all(not flags for _, flags, _ in after["INBOX"].messages)  # BODY.PEEK: not \Seen


def test_target_messages_are_never_deleted(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(3)]})
    put(dovecot, dst, {"INBOX": [make_msg(900, tag="theirs")]})
    run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    ids = ids_by_folder(snapshot(dovecot, dst, bodies=False))["INBOX"]
    assert sum(ids.values()) == 4 and any("theirs" in i for i in ids)


def test_non_ascii_and_ampersand_folder_names_round_trip(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    names = ["Reçus", "Projects/Überblick 日本", "R&D", "Привет/мир"]
    put(dovecot, src, {n: [make_msg(i, tag=n)] for i, n in enumerate(names)})
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert report.messages_copied == 4
    got = ids_by_folder(snapshot(dovecot, dst, bodies=False))
    for n in names:
        assert sum(got[n].values()) == 1, n


def test_special_use_folders_map_to_the_targets_own(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    put(
        dovecot,
        src,
        {
            "Sent Items": [make_msg(1)],
            "Deleted Items": [make_msg(2)],
            "Gesendete Elemente/2020": [make_msg(3)],
            "Junk E-mail": [make_msg(4)],
        },
    )
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert report.messages_copied == 4
    got = ids_by_folder(snapshot(dovecot, dst, bodies=False))
    # Target has \Sent "Sent" and \Trash "Trash" (SPECIAL-USE); Junk is created by its common name.
    assert sum(got["Sent"].values()) == 1
    assert sum(got["Trash"].values()) == 1
    assert sum(got["Junk"].values()) == 1
    assert "Sent Items" not in got and "Deleted Items" not in got
    # Only one folder may take a role: the second \Sent candidate keeps its own name.
    assert sum(got["Gesendete Elemente/2020"].values()) == 1


def test_folder_and_date_filters_limit_the_pass(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    old = datetime(2020, 5, 1, tzinfo=UTC)
    new = datetime(2024, 5, 1, tzinfo=UTC)
    put(
        dovecot,
        src,
        {
            "INBOX": [make_msg(1, date=old), make_msg(2, date=new)],
            "Archive/2019": [make_msg(3, date=new)],
            "Spam Trap": [make_msg(4, date=new)],
        },
    )
    opts = PassOptions(exclude=("Spam*",), since=date(2023, 1, 1))
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir, "filtered", opts)
    got = ids_by_folder(snapshot(dovecot, dst, bodies=False))
    assert report.messages_copied == 2
    assert "Spam Trap" not in got and sum(got["INBOX"].values()) == 1
    assert report.folders_skipped >= 1
    # Without filters the next pass completes the copy (filtered folders were not marked clean).
    full = run_pass(dovecot.url(src), dovecot.url(dst), state_dir, "full")
    assert full.messages_copied == 2
    include = run_pass(
        dovecot.url(src),
        dovecot.url(account("dst")),
        state_dir.with_name("s2"),
        options=PassOptions(include=("Archive/*",)),
    )
    assert include.messages_copied == 1


def test_large_message_is_copied_intact_and_oversize_is_an_item_error(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    big = make_msg(1, size=6_000_000)
    huge = make_msg(2, size=9_000_000)
    put(dovecot, src, {"INBOX": [big, huge, make_msg(3)]})
    opts = PassOptions(max_message_size=8_000_000, batch_bytes=4_000_000)
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir, options=opts)
    assert report.messages_copied == 2
    assert len(report.item_errors) == 1 and "too large" in report.item_errors[0].reason
    assert report.item_errors[0].message_id == huge.message_id
    bodies = [b for b, _, _ in snapshot(dovecot, dst)["INBOX"].messages]
    assert big.body in bodies and huge.body not in bodies


def test_messages_without_message_id_and_duplicate_ids_are_each_copied_once(
    dovecot, account, state_dir
):
    src, dst = account("src"), account("dst")
    same_id = "<same@example.com>"
    msgs = [
        make_msg(1, message_id=None),
        make_msg(2, message_id=None),
        make_msg(3, message_id=same_id),
        make_msg(4, message_id=same_id),
    ]
    put(dovecot, src, {"Drafts": msgs})
    first = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    second = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert (first.messages_copied, second.messages_copied) == (4, 0)
    assert sorted(b for b, _, _ in snapshot(dovecot, dst)["Drafts"].messages) == sorted(
        m.body for m in msgs
    )


def test_flagged_via_store_sets_flagged_after_append(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(1, flags=("\\Flagged", "\\Seen")), make_msg(2)]})
    report = run_pass(
        dovecot.url(src), dovecot.url(dst), state_dir, options=PassOptions(flagged_via_store=True)
    )
    assert report.messages_copied == 2
    assert sorted(snapshot(dovecot, dst)["INBOX"].messages) == sorted(
        snapshot(dovecot, src)["INBOX"].messages
    )


def test_progress_callback_is_called_and_can_cancel_the_pass(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(30)]})
    seen = []

    def cancel(progress):
        seen.append(progress)
        raise RuntimeError("activity cancelled")

    opts = PassOptions(progress_interval_s=0.001, batch_messages=3, connections=1)
    import pytest

    with pytest.raises(RuntimeError, match="cancelled"):
        run_pass(dovecot.url(src), dovecot.url(dst), state_dir, options=opts, progress_cb=cancel)
    assert seen and seen[0].folders_total == 1
    ticks = []
    report = run_pass(
        dovecot.url(src), dovecot.url(dst), state_dir, options=opts, progress_cb=ticks.append
    )
    assert ticks[-1].messages_copied == report.messages_copied
    assert ids_by_folder(snapshot(dovecot, dst, bodies=False)) == ids_by_folder(
        snapshot(dovecot, src, bodies=False)
    )
