"""kill -9 at random instants, crashes between APPEND and confirm, UIDVALIDITY changes."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from mailflip.sync import Ledger, PassOptions, run_pass
from mailflip.sync.ledger import INTENT
from tests.sync.mail import connect, ids_by_folder, make_msg, put, snapshot


def _ledger_rows(state_dir) -> int:
    path = state_dir / "ledger.sqlite"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM sync_messages").fetchone()[0])
    except sqlite3.DatabaseError:  # not created yet, or caught mid-creation
        return 0


def _sync_cmd(dovecot, src, dst, state_dir) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from mailflip.cli.app import main; main()",
        "sync",
        "--source",
        dovecot.url(src),
        "--target",
        dovecot.url(dst),
        "--state-dir",
        str(state_dir),
        "--batch-messages",
        "7",
        "--connections",
        "3",
        "--json",
    ]


@pytest.mark.slow
def test_kill_9_at_random_points_then_rerun_loses_nothing_and_duplicates_nothing(
    dovecot, account, state_dir
):
    src, dst = account("src"), account("dst")
    put(
        dovecot,
        src,
        {
            "INBOX": [make_msg(i, size=3000) for i in range(180)],
            "Sent": [make_msg(300 + i, size=3000) for i in range(60)],
            "Drafts": [make_msg(400 + i, message_id=None, size=3000) for i in range(20)],
        },
    )
    total = 260
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    thresholds = sorted(rng.sample(range(0, total - 20), 4))
    kills = 0
    for threshold in thresholds:
        proc = subprocess.Popen(
            _sync_cmd(dovecot, src, dst, state_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while (
            proc.poll() is None
            and _ledger_rows(state_dir) < threshold
            and time.monotonic() < deadline
        ):
            time.sleep(0.002)  # polling the ledger for the kill point, not waiting for a result
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    final = subprocess.run(
        _sync_cmd(dovecot, src, dst, state_dir), capture_output=True, text=True, timeout=120
    )
    assert final.returncode == 0, final.stderr
    assert kills >= 2, f"seed {seed}: the pass finished before most kill points"
    want = ids_by_folder(snapshot(dovecot, src, bodies=False))
    got = ids_by_folder(snapshot(dovecot, dst, bodies=False))
    assert got == want, f"seed {seed}"
    assert sum(sum(c.values()) for c in got.values()) == total
    assert Ledger.open(state_dir).count(INTENT) == 0


class _CrashAfterAppend(Ledger):
    """A ledger whose process "dies" right after the APPEND, before the confirm commits."""

    def confirm(self, entries):  # noqa: ANN001
        raise KeyboardInterrupt("simulated crash between APPEND and ledger commit")


def test_crash_between_append_and_commit_is_reconciled_without_duplicates(
    dovecot, account, state_dir
):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(9)] + [make_msg(50, message_id=None)]})
    crashing = Ledger.open(state_dir)
    crashing.__class__ = _CrashAfterAppend
    with pytest.raises(KeyboardInterrupt):
        run_pass(dovecot.url(src), dovecot.url(dst), crashing, options=PassOptions(connections=1))
    assert Ledger.open(state_dir).count(INTENT) == 10
    assert sum(ids_by_folder(snapshot(dovecot, dst, bodies=False))["INBOX"].values()) == 10
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert report.messages_copied == 0 and report.messages_rematched == 10
    assert ids_by_folder(snapshot(dovecot, dst, bodies=False)) == ids_by_folder(
        snapshot(dovecot, src, bodies=False)
    )


def test_source_uidvalidity_change_rematches_by_message_id_and_hash(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    msgs = [make_msg(i) for i in range(6)] + [make_msg(9, message_id=None)]
    put(dovecot, src, {"Work": msgs})
    run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    with connect(dovecot, src) as c:  # the provider "moved" the folder: new UIDVALIDITY, new UIDs
        old = c.folder_status("Work", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
        c.delete_folder("Work")
    put(dovecot, src, {"Work": list(reversed(msgs)) + [make_msg(77)]})
    with connect(dovecot, src) as c:
        assert c.folder_status("Work", [b"UIDVALIDITY"])[b"UIDVALIDITY"] != old
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert report.messages_copied == 1
    assert report.messages_rematched == 7
    assert any("UIDVALIDITY" in w for w in report.warnings)
    assert ids_by_folder(snapshot(dovecot, dst, bodies=False)) == ids_by_folder(
        snapshot(dovecot, src, bodies=False)
    )


def test_target_uidvalidity_change_keeps_flag_propagation_working(dovecot, account, state_dir):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(5)]})
    run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    dovecot.doveadm("mailbox", "update", "-u", dst, "--uid-validity", "424242", "INBOX")
    with connect(dovecot, src) as c:
        c.select_folder("INBOX")
        c.add_flags(sorted(c.search("ALL"))[:1], [b"\\Flagged"])
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert report.messages_copied == 0 and report.flags_updated == 1
    assert report.messages_rematched == 5
    assert sorted(snapshot(dovecot, dst)["INBOX"].messages) == sorted(
        snapshot(dovecot, src)["INBOX"].messages
    )
