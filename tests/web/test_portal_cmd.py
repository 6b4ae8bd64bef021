"""`mailflip portal`: the portal and the REST API in a process of their own, acting on
the cluster's orders (here the time-skipping server, with this test's worker), reading
the shared store; Ctrl-C stops it cleanly. Without Temporal it exits 1 saying where it
looked."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from mailflip.localnet import free_port
from mailflip.store.repositories import SqlStore
from tests.cli.cli import MAILFLIP, env_for, mailflip, wait_listening
from tests.web.conftest import ANN
from tests.web.live import QUEUE, demo_order, live_portal

pytestmark = pytest.mark.slow


async def test_mailflip_portal_serves_the_api_on_the_cluster_s_orders(
        web_store: SqlStore, tmp_path: Path) -> None:
    token = web_store.new_api_token(ANN, "portal-cmd")[1]
    port = free_port()
    async with live_portal(web_store) as live:
        env = env_for(tmp_path) | {
            "MAILFLIP_DATABASE_URL": str(web_store.engine.url),
            "MAILFLIP_TEMPORAL_ADDRESS": live.env.client.service_client.config.target_host,
            "MAILFLIP_TASK_QUEUE": QUEUE, "MAILFLIP_PUBLIC_URL": "http://127.0.0.1:1"}
        proc = subprocess.Popen([MAILFLIP, "portal", "--port", str(port)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            await asyncio.to_thread(wait_listening, port, proc, "mailflip portal")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers={
                    "Authorization": f"Bearer {token}"}, timeout=60) as api:
                made = await api.post("/api/orders", json=demo_order())
                assert made.status_code == 201, made.text
                order_id = made.json()["order_id"]
                got = await api.get(f"/api/orders/{order_id}")
                assert got.status_code == 200 and got.json()["status"] == "Saved in Website"
                assert (await api.post(f"/api/orders/{order_id}/place")).status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)
            out, errors = await asyncio.to_thread(proc.communicate, timeout=60)
    assert proc.returncode == 0, errors
    assert f"127.0.0.1:{port}" in out and "portal stopped" in out


def test_mailflip_portal_without_temporal_exits_1_naming_the_address(tmp_path: Path) -> None:
    r = mailflip("portal", "--port", str(free_port()), env=env_for(tmp_path))
    assert r.returncode == 1 and "cannot reach Temporal" in r.stderr
    assert "localhost:1" in r.stderr
