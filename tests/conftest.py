"""Shared fixtures.

`postgres_server`: a throwaway PostgreSQL server (Debian package `postgresql`) for
tests marked `postgres`, one per pytest process (so one per xdist worker). It listens
on a unix socket in its own temp dir only, so servers never compete for a TCP port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.sync.dovecot import Dovecot, start_dovecot, stop_dovecot

PG_PORT = 5432  # only names the socket file inside the server's private dir


@dataclass(frozen=True)
class PostgresServer:
    socket_dir: Path
    port: int = PG_PORT

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _pg_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    return candidates[-1].parent if candidates else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None:
        message = "PostgreSQL not installed (Debian package `postgresql`; `make apt`)"
        if os.environ.get("MAILFLIP_REQUIRE_POSTGRES") == "1":  # `make test` / CI
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="mailflip-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as `postgres`
        shutil.chown(root, user="postgres", group="postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    options = f"-k {root} -p {PG_PORT} -c listen_addresses='' -c fsync=off " + (
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
    )

    def run(*args: str | Path) -> None:
        subprocess.run([*run_as, *map(str, args)], check=True, capture_output=True, cwd=root)

    try:
        run(
            bindir / "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        run(bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-o", options, "-w", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr.decode()}") from exc
    try:
        yield PostgresServer(socket_dir=root)
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            cwd=root,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A real Dovecot on a loopback port, one per pytest process (tests/sync/dovecot.py)."""
    server = start_dovecot()
    try:
        yield server
    finally:
        stop_dovecot(server)


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium through Playwright's async API, for tests whose server runs in
    the test's own event loop (or beside it)."""
    from playwright.async_api import async_playwright

    from tests.web.test_portal_browser import CHROMIUM

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        await browser.close()
