"""Continue-as-new: an order with a few hundred mailboxes runs its whole lifecycle with
both workflows continuing as new, and every pass of every mailbox happens once."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mailflip.domain.names import Status
from mailflip.lifecycle.order.messages import EngineSettings

from .kit import base, merge, of, run, users


def continued(history_json: str) -> bool:
    first = json.loads(history_json)["events"][0]
    attrs = first["workflowExecutionStartedEventAttributes"]
    return bool(attrs.get("continuedExecutionRunId"))


@pytest.mark.slow
async def test_continue_as_new_with_300_mailboxes_keeps_every_pass():
    n = 300
    sc = merge(base(users=users(n), cutover="+3d"), until="complete", world={
        "tenant": {"licenses": {"SPB": n}, "verified_domains": ["contoso.com"]},
        "dns": {"contoso.com": {"mx_to_m365_at": "+1d"}}})
    out = await run(sc, EngineSettings(syncs_window=100, syncs_continue_every=250,
                                       history_budget=150), keep_histories=True)
    assert out.state.status is Status.COMPLETE
    assert continued(out.histories["order-sim-1"])
    assert continued(out.histories["syncs-sim-1"])
    done = Counter(e["pass"] for e in of(out, "sync", state="completed"))
    assert done == {"initial": n, "final": n, "delta": n, "sweep": 4 * n}
    started = Counter((e["mailbox"], e["pass"]) for e in of(out, "sync", state="started"))
    assert max(started.values()) == 4 and len(started) == 4 * n
    assert len(of(out, "email", template="poc_all_syncs_done")) == 1


def failed_tasks(history_json: str) -> list[str]:
    return [e["workflowTaskFailedEventAttributes"].get("cause", "")
            for e in json.loads(history_json)["events"]
            if "workflowTaskFailedEventAttributes" in e]


def scheduled_on(history_json: str, activity: str) -> set[str]:
    return {e["activityTaskScheduledEventAttributes"]["taskQueue"]["name"]
            for e in json.loads(history_json)["events"]
            if e.get("activityTaskScheduledEventAttributes", {}).get("activityType", {})
            .get("name") == activity}


@pytest.mark.slow
async def test_big_order_over_syncs_shards_never_fails_a_workflow_task():
    """Issue 14: 2,000 mailboxes over 5 syncs shards, passes on their own task queue;
    both workflows continue as new, and no workflow task of any run fails (a regression
    in state size or in work per task shows here as a failure, not as a time)."""
    n = 2000
    sc = merge(base(users=users(n), cutover="+3d"), until="complete", world={
        "tenant": {"licenses": {"SPB": n}, "verified_domains": ["contoso.com"]},
        "dns": {"contoso.com": {"mx_to_m365_at": "+1d"}},
        # passes done in their first attempt: what is measured is the workflows' tasks,
        # and a pass that retries until its simulated end costs CI minutes here
        "sync": {"duration": "0s"}})
    out = await run(sc, EngineSettings(syncs_window=200, syncs_shard_size=500,
                                       syncs_continue_every=1500, history_budget=150,
                                       pass_task_queue="sim-passes"),
                    keep_histories=True)
    assert out.state.status is Status.COMPLETE
    assert out.state.syncs_shards == 5  # 200 passes at once: 5 shards of 40
    syncs = {k: h for k, h in out.histories.items() if k.startswith("syncs-")}
    assert len(syncs) == 5 and "syncs-sim-1/4" in syncs
    assert continued(out.histories["order-sim-1"])
    assert all(continued(h) for h in syncs.values())
    assert {k: failed_tasks(h) for k, h in out.histories.items() if failed_tasks(h)} == {}
    assert all(scheduled_on(h, "run_sync_pass") == {"sim-passes"} for h in syncs.values())
    done = Counter(e["pass"] for e in of(out, "sync", state="completed"))
    assert done == {"initial": n, "final": n, "delta": n, "sweep": 4 * n}
    assert len(of(out, "email", template="poc_all_syncs_done")) == 1
