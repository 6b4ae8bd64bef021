"""Maildir on either side (and both)."""

from __future__ import annotations

import os
from pathlib import Path

from mailflip.sync import run_pass
from tests.sync.mail import ids_by_folder, make_msg, put, snapshot


def _write_maildir(root: Path, folders: dict[str, list[tuple[bytes, str, int]]]) -> None:
    """Dovecot layout: INBOX at root, `.Sub.Folder` (mUTF-7) subfolders, LF line ends."""
    for name, msgs in folders.items():
        d = root if name == "INBOX" else root / f".{name}"
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        for i, (body, info, mtime) in enumerate(msgs):
            path = d / "cur" / f"{mtime}.M{i}P1.test:2,{info}"
            path.write_bytes(body.replace(b"\r\n", b"\n"))
            os.utime(path, (mtime, mtime))


def test_maildir_source_to_imap_target_keeps_flags_dates_and_crlf(dovecot, account, tmp_path):
    dst = account("dst")
    msgs = [make_msg(i) for i in range(4)]
    root = tmp_path / "Maildir"
    _write_maildir(
        root,
        {
            "INBOX": [(msgs[0].body, "S", 1_600_000_000), (msgs[1].body, "FS", 1_600_000_100)],
            "Archive.2023": [(msgs[2].body, "RS", 1_650_000_000)],
            "R&AOk-sum&AOk-": [(msgs[3].body, "", 1_660_000_000)],
        },
    )
    before = sorted(p.name for p in root.rglob("*") if p.is_file())
    report = run_pass(f"maildir://{root}", dovecot.url(dst), tmp_path / "state")
    assert report.messages_copied == 4 and report.complete
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == before  # source untouched
    snap = snapshot(dovecot, dst)
    assert set(snap) >= {"INBOX", "Archive/2023", "Résumé"}
    inbox = sorted(snap["INBOX"].messages)
    assert [m[0] for m in inbox] == sorted([msgs[0].body, msgs[1].body])  # CRLF bytes as sent
    assert {m[0]: m[1] for m in inbox}[msgs[1].body] == frozenset({"\\Flagged", "\\Seen"})
    assert {int(m[2].timestamp()) for m in inbox} == {1_600_000_000, 1_600_000_100}
    again = run_pass(f"maildir://{root}", dovecot.url(dst), tmp_path / "state")
    assert again.messages_copied == 0


def test_imap_source_to_maildir_target_and_on_to_another_maildir(dovecot, account, tmp_path):
    src = account("src")
    put(
        dovecot,
        src,
        {
            "INBOX": [make_msg(i, flags=("\\Seen",)) for i in range(3)],
            "Projects/Überblick": [make_msg(10)],
        },
    )
    first = tmp_path / "first"
    r1 = run_pass(dovecot.url(src), f"maildir://{first}", tmp_path / "s1")
    assert r1.messages_copied == 4
    assert len(list((first / "cur").iterdir())) == 3
    assert all(p.name.endswith(":2,S") for p in (first / "cur").iterdir())
    sub = [p for p in first.iterdir() if p.name.startswith(".Projects.")]
    assert len(sub) == 1 and len(list((sub[0] / "cur").iterdir())) == 1
    second = tmp_path / "second"
    r2 = run_pass(f"maildir://{first}", f"maildir://{second}", tmp_path / "s2")
    assert r2.messages_copied == 4
    back = account("back")
    run_pass(f"maildir://{second}", dovecot.url(back), tmp_path / "s3")
    assert ids_by_folder(snapshot(dovecot, back, bodies=False)) == ids_by_folder(
        snapshot(dovecot, src, bodies=False)
    )
    assert sorted(snapshot(dovecot, back)["INBOX"].messages) == sorted(
        snapshot(dovecot, src)["INBOX"].messages
    )


def test_missing_source_maildir_fails_before_copying(tmp_path):
    import pytest

    from mailflip.sync import PassFailed

    with pytest.raises(PassFailed, match="lists no folders"):
        run_pass(f"maildir://{tmp_path / 'nope'}", f"maildir://{tmp_path / 'dst'}", tmp_path / "s")
