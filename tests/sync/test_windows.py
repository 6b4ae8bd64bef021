"""Folders larger than the planning window: diffed and copied window by window, completely."""

from __future__ import annotations

import pytest

import mailflip.sync.plan as plan
from mailflip.sync import PassOptions, run_pass
from tests.sync.mail import connect, make_msg, put, snapshot
from tests.sync.test_maildir import _write_maildir


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int | None]]:
    """Every UID window the planner walks (the real ones, recorded)."""
    seen: list[tuple[int, int | None]] = []
    real = plan.uid_windows

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        for window in real(*args, **kwargs):
            seen.append(window)
            yield window

    monkeypatch.setattr(plan, "uid_windows", spy)
    return seen


def _assert_tiles(windows: list[tuple[int, int | None]]) -> None:
    """Consecutive, non-overlapping, from UID 1 to an open end."""
    assert windows[0][0] == 1 and windows[-1][1] is None
    for (_, hi), (lo, _) in zip(windows, windows[1:], strict=False):
        assert hi is not None and lo == hi + 1


def test_folder_larger_than_the_window_is_copied_across_windows(
    dovecot, account, state_dir, windows
):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i, flags=("\\Seen",) * (i % 2)) for i in range(57)]})
    with connect(dovecot, src) as c:  # holes in the UID space
        c.select_folder("INBOX")
        c.delete_messages(sorted(c.search("ALL"))[10:17])
        c.expunge()
    opts = PassOptions(window_messages=8, batch_messages=3)

    first = run_pass(dovecot.url(src), dovecot.url(dst), state_dir, options=opts)

    assert first.messages_copied == 50 and first.messages_seen == 50 and first.complete
    assert len(windows) >= 6
    _assert_tiles(windows)
    assert sorted(snapshot(dovecot, dst)["INBOX"].messages) == sorted(
        snapshot(dovecot, src)["INBOX"].messages
    )

    # Changes spread over several windows: new mail, flags set and cleared far apart
    # (odd messages were \\Seen; uids[1] and uids[48] are odd ones).
    put(dovecot, src, {"INBOX": [make_msg(100 + i) for i in range(11)]})
    with connect(dovecot, src) as c:
        c.select_folder("INBOX")
        uids = sorted(c.search("ALL"))
        c.add_flags([uids[0], uids[25], uids[49]], [b"\\Flagged"])
        c.remove_flags([uids[1], uids[48]], [b"\\Seen"])
    windows.clear()

    again = run_pass(dovecot.url(src), dovecot.url(dst), state_dir, options=opts)

    assert again.messages_copied == 11 and again.flags_updated == 5
    assert again.messages_seen == 61 and again.messages_skipped == 50
    assert len(windows) >= 7
    _assert_tiles(windows)
    assert sorted(snapshot(dovecot, dst)["INBOX"].messages) == sorted(
        snapshot(dovecot, src)["INBOX"].messages
    )

    settled = run_pass(dovecot.url(src), dovecot.url(dst), state_dir, options=opts)
    assert settled.messages_copied == 0 and settled.folders_unchanged == 1


def test_windows_also_tile_a_maildir_source(tmp_path, state_dir, windows):
    root = tmp_path / "Maildir"
    _write_maildir(root, {"INBOX": [(make_msg(i).body, "S", 1_600_000_000 + i) for i in range(23)]})
    target = tmp_path / "Target"
    opts = PassOptions(window_messages=5, batch_messages=2)

    report = run_pass(f"maildir://{root}", f"maildir://{target}", state_dir, options=opts)

    assert report.messages_copied == 23 and report.complete
    assert len(windows) >= 4
    _assert_tiles(windows)
    again = run_pass(f"maildir://{root}", f"maildir://{target}", state_dir, options=opts)
    assert again.messages_copied == 0 and again.messages_seen == 23
