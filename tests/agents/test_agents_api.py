"""The desktop agents' API (agents/api.py) and the Agents port over it
(agents/store_agents.py): what R-READINESS-4H and MigrateEmail's flip see."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from mailflip.agents.store_agents import StoreAgents

from .conftest import ORDER

READY = {"outlook_version": "16.0.17928.20114", "profile_found": True,
         "disk_free_mb": 20_000, "m365_reachable": True}


async def call(served, code: str, method: str, path: str, body=None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=served.url) as http:
        return await http.request(method, path, json=body,
                                  headers={"Authorization": f"Bearer {code}"})


async def enrol(served, address: str, report: dict | None = None) -> str:
    code = await served.code_for(address)
    assert (await call(served, code, "POST", "/agent/v1/enrol", {"host": "PC-1"})).json() == {
        "address": address, "poll_every_s": 1}
    if report is not None:
        assert (await call(served, code, "POST", "/agent/v1/readiness", report)).status_code \
            == 200
    return code


async def test_r_readiness_4h_sees_what_each_agent_last_reported(served) -> None:
    await enrol(served, "ann@contoso.com", READY)
    old = await enrol(served, "bob@contoso.com", {**READY, "outlook_version": "15.0.4420"})
    await enrol(served, "cy@contoso.com")  # enrolled, no report yet
    agents = StoreAgents(served.store, clock=served.clock)
    users = ["ann@contoso.com", "bob@contoso.com", "cy@contoso.com", "dee@contoso.com"]
    assert await agents.readiness(ORDER, users) == {
        "ann@contoso.com": "ready", "bob@contoso.com": "not_ready",
        "cy@contoso.com": "not_ready", "dee@contoso.com": "missing"}
    answer = await call(served, old, "POST", "/agent/v1/readiness",
                        {**READY, "outlook_version": "15.0.4420", "disk_free_mb": 100})
    assert answer.json() == {"readiness": "not_ready", "reason":
                             "Outlook 15.0.4420 is older than 2016; 100 MB free, "
                             "1024 MB needed"}
    [bob] = [a for a in served.store.agents(ORDER) if a.address == "bob@contoso.com"]
    assert bob.host == "PC-1" and bob.report["disk_free_mb"] == 100


async def test_r_readiness_4h_counts_an_agent_silent_for_an_hour_as_missing(served) -> None:
    code = await enrol(served, "ann@contoso.com", READY)
    agents = StoreAgents(served.store, clock=served.clock)
    served.clock.advance(timedelta(minutes=59))
    assert await agents.readiness(ORDER, ["ann@contoso.com"]) == {"ann@contoso.com": "ready"}
    served.clock.advance(timedelta(minutes=2))
    assert await agents.readiness(ORDER, ["ann@contoso.com"]) == {"ann@contoso.com": "missing"}
    assert (await call(served, code, "POST", "/agent/v1/heartbeat")).status_code == 204
    assert await agents.readiness(ORDER, ["ann@contoso.com"]) == {"ann@contoso.com": "ready"}


async def test_an_unknown_code_is_refused_and_changes_nothing(served) -> None:
    for headers in ({"Authorization": "Bearer not-a-code"}, {}):
        async with httpx.AsyncClient(base_url=served.url) as http:
            r = await http.post("/agent/v1/enrol", json={"host": "PC"}, headers=headers)
        assert r.status_code == 401 and r.json()["field"] == "authorization"
    assert served.store.agents(ORDER) == []


@pytest.mark.parametrize("body,field", [
    ({**READY, "disk_free_mb": "lots"}, "report.disk_free_mb"),
    ({**READY, "disk_free_mb": -1}, "report.disk_free_mb"),
    ({k: v for k, v in READY.items() if k != "profile_found"}, "report.profile_found"),
    ({**READY, "m365_reachable": 1}, "report.m365_reachable"),
    (["not", "an", "object"], "body"),
])
async def test_a_bad_readiness_report_names_the_field_and_changes_nothing(
        served, body, field) -> None:
    code = await enrol(served, "ann@contoso.com", READY)
    r = await call(served, code, "POST", "/agent/v1/readiness", body)
    assert r.status_code == 422 and r.json()["field"] == field
    [ann] = served.store.agents(ORDER)
    assert ann.readiness == "ready" and ann.report == READY


async def test_flip_is_a_command_for_each_ready_agent_once_and_the_first_ack_stands(
        served) -> None:
    ann = await enrol(served, "ann@contoso.com", READY)
    bob = await enrol(served, "bob@contoso.com", {**READY, "m365_reachable": False})
    agents = StoreAgents(served.store, "outlook.office365.com", clock=served.clock)
    users = ["ann@contoso.com", "bob@contoso.com"]
    await agents.flip(ORDER, users)
    await agents.flip(ORDER, users)  # a retried activity queues nothing twice
    [cmd] = (await call(served, ann, "GET", "/agent/v1/commands")).json()["commands"]
    assert cmd["kind"] == "flip" and cmd["payload"] == {
        "account_type": "microsoft365", "server": "outlook.office365.com",
        "address": "ann@contoso.com"}
    assert (await call(served, bob, "GET", "/agent/v1/commands")).json() == {"commands": []}
    ack = f"/agent/v1/commands/{cmd['id']}/ack"
    assert (await call(served, bob, "POST", ack, {"result": "done"})).status_code == 422
    assert (await call(served, ann, "POST", ack, {"result": "maybe"})).json()["field"] == \
        "result"
    assert (await call(served, ann, "POST", ack, {"result": "done"})).json() == {
        "acknowledged": True}
    assert (await call(served, ann, "POST", ack, {"result": "failed"})).json() == {
        "acknowledged": False}
    [row] = served.store.commands(ORDER)
    assert row.result == "done" and row.acked_at is not None
    assert (await call(served, ann, "GET", "/agent/v1/commands")).json() == {"commands": []}


async def test_stop_ends_the_gather_links_at_once_and_each_agent_code_once_acknowledged(
        served) -> None:
    ann = await enrol(served, "ann@contoso.com", READY)
    links, _ = await served.links.for_email("user_gather_info", ORDER, "ann@contoso.com")
    gather = links["link"].rsplit("/", 1)[1]
    await StoreAgents(served.store, clock=served.clock).stop(ORDER)
    assert served.store.token_owner("gather", gather) is None
    [cmd] = (await call(served, ann, "GET", "/agent/v1/commands")).json()["commands"]
    assert cmd["kind"] == "stop"
    await call(served, ann, "POST", f"/agent/v1/commands/{cmd['id']}/ack", {"result": "done"})
    assert (await call(served, ann, "POST", "/agent/v1/heartbeat")).status_code == 401
