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
