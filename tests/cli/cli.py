"""Running the `mailflip` console script as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MAILFLIP = str(Path(sys.prefix) / "bin" / "mailflip")
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def env_for(tmp: Path, temporal_port: int | None = None) -> dict[str, str]:
    """A private store in `tmp`; Temporal at `temporal_port` (default: a closed port, so
    a command that wrongly tried to reach Temporal fails with exit 1, not 2)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLIP_")}
    env["MAILFLIP_DATABASE_URL"] = f"sqlite:///{tmp}/mailflip.db"
    env["MAILFLIP_TEMPORAL_ADDRESS"] = f"localhost:{temporal_port or 1}"
    env["COLUMNS"] = "120"
    return env


def mailflip(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MAILFLIP, *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def wait_listening(port: int, proc: subprocess.Popen[str], what: str,
                   timeout_s: float = 30.0) -> None:
    """Until `proc` (a `mailflip sim ...`) accepts TCP connections on `port`."""
    import socket
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # polling the port, not waiting for a state
    raise TimeoutError(f"{what} did not listen on {port}")
