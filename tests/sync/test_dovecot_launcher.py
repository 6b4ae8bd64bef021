"""mailflip's Dovecot launcher (mail/dovecot.py): a state directory given relative to
the working directory, as `mailflip sim m365 --state var/m365` gives it, still starts."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from mailflip.mail.dovecot import DovecotOptions, start_dovecot, stop_dovecot


def test_a_relative_state_directory_starts_and_keeps_its_mail_there(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a directory the mail user can reach (pytest's own are 0700: the launcher would
    # move the mail elsewhere when run as root, and the relative path not be used)
    here = Path(tempfile.mkdtemp(prefix="mailflip-launcher-"))
    here.chmod(0o755)
    monkeypatch.chdir(here)
    server = start_dovecot(DovecotOptions(password="pw"), Path("var/imap"))
    try:
        assert server.base == here / "var" / "imap"
        with socket.create_connection((server.host, server.port), timeout=5) as s:
            assert s.recv(100).startswith(b"* OK")
    finally:
        stop_dovecot(server, remove=False)
    assert (server.base / "dovecot.conf").is_file()  # kept for the next start
    shutil.rmtree(here, ignore_errors=True)
