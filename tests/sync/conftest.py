"""Fixtures for the sync tests: one real Dovecot per pytest process (xdist worker)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.sync.dovecot import Dovecot, start_dovecot, stop_dovecot
from tests.sync.oauth import IntrospectionServer, OAuthDovecot

_names = itertools.count(1)


@pytest.fixture
def account(dovecot: Dovecot) -> Callable[[str], str]:
    """account("src") -> a fresh, empty IMAP user name unique to this test."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")

    def make(role: str) -> str:
        return dovecot.add_user(f"{role}{worker}n{next(_names)}")

    return make


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture(scope="session")
def oauth_dovecot() -> Iterator[OAuthDovecot]:
    issuer = IntrospectionServer().start()
    try:
        server = start_dovecot(introspection_url=issuer.url)
    except BaseException:
        issuer.stop()
        raise
    try:
        yield OAuthDovecot(server, issuer)
    finally:
        stop_dovecot(server)
        issuer.stop()


@pytest.fixture(scope="session")
def limited_dovecot() -> Iterator[Dovecot]:
    """A target that refuses messages over 64 KiB (NO [LIMIT]), like a tenant's MaxReceiveSize."""
    server = start_dovecot(max_mail_size="64k")
    try:
        yield server
    finally:
        stop_dovecot(server)
