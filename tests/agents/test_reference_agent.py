"""The reference agent (`mailflip agent`) against the agents' API over real HTTP: it
enrols, reports readiness, flips the mail profile when told, never twice, survives the
server being away, and stops when the order completes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from mailflip.agents.reference import JsonProfile, PcFacts, ReferenceAgent
from mailflip.agents.store_agents import StoreAgents
from mailflip.localnet import free_port

from ..cli.cli import MAILFLIP
from .conftest import ORDER

SOURCE_PROFILE = {"account_type": "imap", "server": "mail.contoso.com",
                  "address": "ann@contoso.com", "display_name": "Ann Lee"}


async def until(check, what: str, timeout: float = 30.0) -> Any:
    """Poll `check` (a state read) until it is truthy; fail naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = await asyncio.to_thread(check)
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def agent_process(url: str, code: str, profile: Path, m365_port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [MAILFLIP, "agent", "--server", url,
         "--profile", str(profile), "--m365", f"127.0.0.1:{m365_port}", "--retry-max", "0.5"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MAILFLIP_")},
             "MAILFLIP_AGENT_TOKEN": code},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def test_mailflip_agent_becomes_ready_flips_once_and_stops(served, tmp_path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(SOURCE_PROFILE))
    code = await served.code_for("ann@contoso.com")
    m365 = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)  # reachable
    port = m365.sockets[0].getsockname()[1]
    agents = StoreAgents(served.store, "outlook.office365.com", clock=served.clock)
    proc = agent_process(served.url, code, profile, port)
    try:
        await until(lambda: asyncio.run(agents.readiness(ORDER, ["ann@contoso.com"]))
                    == {"ann@contoso.com": "ready"}, "the agent's ready report")
        await agents.flip(ORDER, ["ann@contoso.com"])
        await until(lambda: all(c.result == "done" for c in served.store.commands(ORDER)),
                    "the flip acknowledged")
        flipped = json.loads(profile.read_text())
        assert flipped == {**SOURCE_PROFILE, "account_type": "microsoft365",
                           "server": "outlook.office365.com"}
        assert json.loads((tmp_path / "profile.json.before-flip").read_text()) == SOURCE_PROFILE
        await agents.stop(ORDER)
        out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    finally:
        proc.kill()
        m365.close()
    assert proc.returncode == 0, out
    assert "agent: enrolled" in out and "readiness: ready" in out
    assert out.count("flipped to Microsoft 365") == 1 and "stopped" in out
    assert code not in out  # the code is never printed


async def test_the_agent_waits_for_a_server_that_is_not_there_yet(
        agents_store, clock, tmp_path) -> None:
    from mailflip.agents.api import agents_app
    from mailflip.notify.links import Links
    from mailflip.webserve import serving

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    links = Links(agents_store, "test-secret", "https://mf.example", url)
    code = (await links.for_email("user_prepare_for_migration", ORDER, "ann@contoso.com")
            )[0]["agent"]["token"]
    proc = agent_process(url, code, tmp_path / "profile.json", free_port())
    try:
        assert proc.stdout is not None
        said = await asyncio.to_thread(proc.stdout.readline)  # nothing listens yet
        assert "failed (ConnectError)" in said, said
        async with serving(agents_app(agents_store, poll_every_s=1), "127.0.0.1", port,
                           what="the agents' API", command="test", option="port"):
            [agent] = await until(lambda: agents_store.agents(ORDER), "the agent's enrolment")
            report = await until(lambda: agents_store.agents(ORDER)[0].report, "its report")
        assert agent.address == "ann@contoso.com"
        assert report["profile_found"] is False and report["m365_reachable"] is False
        assert agents_store.agents(ORDER)[0].reason == (
            "no mail profile for the source host; Microsoft 365 not reachable")
    finally:
        proc.kill()
        proc.communicate()


class CrashAfterFlip(JsonProfile):
    """The PC loses power after the profile is rewritten, before the ack goes out."""

    def flip(self, target: dict[str, Any]) -> bool:
        super().flip(target)
        raise SystemExit("power lost")


async def test_a_flip_interrupted_before_its_ack_is_not_done_again(served, tmp_path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(SOURCE_PROFILE))
    code = await served.code_for("ann@contoso.com")
    facts = PcFacts(m365_host="127.0.0.1", m365_port=free_port())
    first = ReferenceAgent(served.url, code, CrashAfterFlip(profile), facts, tmp_path)
    await asyncio.to_thread(first.call, "POST", "/agent/v1/enrol", {"host": "PC-1"})
    await asyncio.to_thread(first.call, "POST", "/agent/v1/readiness",
                            {**first.report(), "m365_reachable": True})
    await StoreAgents(served.store, clock=served.clock).flip(ORDER, ["ann@contoso.com"])
    [cmd] = (await asyncio.to_thread(first.call, "GET", "/agent/v1/commands"))["commands"]
    try:
        first.execute(cmd, print)
        raise AssertionError("the crash did not happen")
    except SystemExit:
        pass
    assert [c.result for c in served.store.commands(ORDER)] == [""]  # not acknowledged
    rewritten = profile.stat().st_mtime_ns
    events: list[str] = []
    again = ReferenceAgent(served.url, code, JsonProfile(profile), facts, tmp_path)
    [cmd] = (await asyncio.to_thread(again.call, "GET", "/agent/v1/commands"))["commands"]
    await asyncio.to_thread(again.execute, cmd, events.append)
    assert events == ["already flipped"] and profile.stat().st_mtime_ns == rewritten
    assert [c.result for c in served.store.commands(ORDER)] == ["done"]
    assert json.loads((tmp_path / "profile.json.before-flip").read_text()) == SOURCE_PROFILE
