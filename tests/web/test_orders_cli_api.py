"""`mailflip orders --api URL` (token in MAILFLIP_API_TOKEN): the same commands through
the portal's REST API, with the same exits: 0 accepted, 1 refused, 2 bad input naming
the field. The portal runs on real order workflows (time-skipping server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from mailflip.store.repositories import SqlStore
from tests.cli.cli import env_for, mailflip
from tests.web.conftest import ANN
from tests.web.live import demo_order, live_portal, served

pytestmark = pytest.mark.slow


async def test_orders_commands_through_the_api_exit_as_they_do_on_temporal(
        web_store: SqlStore, tmp_path: Path) -> None:
    order_file = tmp_path / "order.yaml"
    order_file.write_text(yaml.safe_dump({"order": demo_order()}))
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(yaml.safe_dump({"order": demo_order(cutover="+1h")}))
    env = env_for(tmp_path) | {"MAILFLIP_API_TOKEN": web_store.new_api_token(ANN, "cli")[1]}

    async with live_portal(web_store) as live, served(live) as base:
        async def run(*args: str) -> tuple[int, str, str]:
            r = await asyncio.to_thread(mailflip, "orders", "--api", base, *args, env=env)
            return r.returncode, r.stdout, r.stderr

        code, stdout, stderr = await run("create", str(order_file))
        assert code == 0, stderr
        order_id = stdout.strip()
        assert order_id.startswith("ord-")
        assert (await run("place", order_id))[0] == 0
        code, _, stderr = await run("place", order_id)
        assert code == 1 and "refused" in stderr
        code, stdout, _ = await run("show", order_id, "--json")
        assert code == 0 and '"partner": "acme-msp"' in stdout
        code, stdout, _ = await run("list", "--json")
        assert code == 0 and order_id in stdout and "o-bravo" not in stdout
        code, _, stderr = await run("create", str(bad_file))
        assert code == 2 and "order.cutover" in stderr
        code, _, stderr = await run("cutover", "o-bravo", "+3d")
        assert code == 2 and "order_id" in stderr  # partner B's order: not found
        code, _, stderr = await run("rerun", order_id, "Create Mailboxes")
        assert code == 1 and "support" in stderr  # a partner's token: support only

    no_token = {k: v for k, v in env.items() if k != "MAILFLIP_API_TOKEN"}
    r = mailflip("orders", "--api", "http://127.0.0.1:1", "list", env=no_token)
    assert r.returncode == 2 and "--token" in r.stderr
