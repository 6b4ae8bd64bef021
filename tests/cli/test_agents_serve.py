"""`mailflip agents serve`: the agents' API on its own, over the store of
MAILFLIP_DATABASE_URL; a bad --listen exits 2 naming it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from mailflip.localnet import free_port

from .cli import MAILFLIP, env_for, mailflip


def test_agents_serve_answers_agents_and_refuses_unknown_codes(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([MAILFLIP, "agents", "serve", "--listen", f"127.0.0.1:{port}"],
                            env=env_for(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:  # poll until it listens (or fail at the deadline)
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/agent/v1/enrol", json={"host": "PC"},
                               headers={"Authorization": "Bearer unknown"}, timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout
                time.sleep(0.1)
        assert r.status_code == 401 and r.json()["field"] == "authorization"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0]
    assert f"agents' API on http://127.0.0.1:{port}/agent/v1" in out


def test_agents_serve_refuses_a_bad_listen_address(tmp_path: Path) -> None:
    result = mailflip("agents", "serve", "--listen", "nowhere", env=env_for(tmp_path))
    assert result.returncode == 2 and "--listen: 'nowhere' is not HOST:PORT" in result.stdout


def test_mailflip_agent_refuses_bad_options_and_the_unbuilt_windows_step(
        tmp_path: Path) -> None:
    env = {**env_for(tmp_path), "MAILFLIP_AGENT_TOKEN": "code"}
    for args, says in (
            (["--server", "ftp://x"], "--server: must be an http:// or https:// URL"),
            (["--server", "http://x", "--m365", "nohost"], "--m365: 'nohost' is not HOST:PORT"),
            (["--server", "http://x", "--windows"], "the Windows Outlook profile step is not "
                                                    "built yet")):
        result = mailflip("agent", *args, env=env)
        assert result.returncode == 2, result.stdout
        assert says in " ".join(result.stdout.split())
