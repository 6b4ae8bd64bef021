"""Setting up IMAP: mailflip's Dovecot launcher (mail/dovecot.py) starts with a state
directory relative to the working directory (as `mailflip sim m365 --state var/m365`
gives it), and the IMAP store connects without imaplib's debug output."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from mailflip.mail.dovecot import DovecotOptions, start_dovecot, stop_dovecot
from tests.sync.dovecot import Dovecot


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


def test_imaplib_formats_no_debug_output_unless_its_logger_wants_it(
        dovecot: Dovecot) -> None:
    """imapclient sets imaplib's debug level to 5 and drops the output in a logger; with
    that logger below DEBUG the store turns it off, so imaplib does not repr every
    response (message bodies included) for nothing (bench/README.md's profile)."""
    import logging

    from mailflip.sync.endpoints import parse_endpoint
    from mailflip.sync.stores.imap import ImapStore

    user = dovecot.add_user("debug-check")
    store = ImapStore(parse_endpoint(dovecot.url(user), "source"), timeout_s=10)
    try:
        assert store.client._imap.debug == 0
    finally:
        store.close()
    logger = logging.getLogger("imapclient.imaplib")
    logger.setLevel(logging.DEBUG)
    try:
        verbose = ImapStore(parse_endpoint(dovecot.url(user), "source"), timeout_s=10)
        assert verbose.client._imap.debug == 5  # someone debugging still sees it all
        verbose.close()
    finally:
        logger.setLevel(logging.NOTSET)
