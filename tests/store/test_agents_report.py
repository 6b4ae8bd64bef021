"""`mailflip orders agents`: each end user's desktop agent as R-READINESS-4H sees it,
with the flip and stop commands and their acknowledgements; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO

import pytest
from rich.console import Console

from mailflip.domain.model import OrderState
from mailflip.errors import InvalidInput
from mailflip.stack.views import agents_report, print_agents_report
from mailflip.store.repositories import SqlStore

READY = {"outlook_version": "16.0.1", "profile_found": True, "disk_free_mb": 5000,
         "m365_reachable": True}


def test_orders_agents_shows_readiness_pcs_and_commands(
        store: SqlStore, state_factory: Callable[..., OrderState], t0: datetime) -> None:
    store.record(state_factory(), [])
    store.agent_seen("o-1", "u0@contoso.example", "PC-ANN", ("ready", "", READY))
    store.agent_seen("o-1", "u1@contoso.example", "PC-BOB",
                     ("not_ready", "Microsoft 365 not reachable", {**READY,
                                                                  "m365_reachable": False}))
    store.queue_commands("o-1", "flip", {"u0@contoso.example": {"server": "outlook"}})
    store.queue_commands("o-1", "flip", {"u0@contoso.example": {"server": "other"}})  # once
    [cmd] = store.commands("o-1")
    assert cmd.payload == {"server": "outlook"}
    assert store.ack_command("o-1", "u0@contoso.example", cmd.id, "done")
    assert not store.ack_command("o-1", "u0@contoso.example", cmd.id, "failed: late")
    with pytest.raises(InvalidInput) as bad:  # not theirs
        store.ack_command("o-1", "u1@contoso.example", cmd.id, "done")
    assert bad.value.field == "command_id"

    rows = agents_report(store, "o-1", t0 + timedelta(minutes=5))
    assert [(r["address"], r["status"]) for r in rows] == [
        ("u0@contoso.example", "ready"), ("u1@contoso.example", "not_ready"),
        ("u2@contoso.example", "missing")]  # the shared mailbox has no agent
    assert rows[0]["commands"] == [{"kind": "flip", "queued_at": "2026-03-02T09:30:00Z",
                                    "acked_at": "2026-03-02T09:30:00Z", "result": "done"}]
    assert rows[2]["reason"] == "no agent has enrolled"
    later = agents_report(store, "o-1", t0 + timedelta(hours=2))
    assert {r["status"] for r in later} == {"missing"}  # silent for over an hour
    with pytest.raises(InvalidInput):
        agents_report(store, "nope", t0)
    printed = StringIO()
    print_agents_report(rows, Console(file=printed, width=400))
    text = " ".join(printed.getvalue().split())
    assert "u1@contoso.example not_ready (Microsoft 365 not reachable) PC-BOB" in text
    assert "flip: done" in text


def test_orders_show_lists_each_mailbox_with_its_latest_pass_of_each_kind(
        store: SqlStore, state_factory: Callable[..., OrderState], t0: datetime) -> None:
    from mailflip.stack.views import order_detail, print_mailboxes

    store.record(state_factory(), [])
    store.save_pass("o-1", "u0@contoso.example", "initial", t0, "completed", 120, 4_800_000)
    store.save_pass("o-1", "u0@contoso.example", "sweep", t0, "completed", 3, 9_000)
    store.save_pass("o-1", "u0@contoso.example", "sweep", t0 + timedelta(days=1), "completed",
                    1, 2_000)  # sweeps repeat: the latest stands, counted
    store.save_pass("o-1", "u1@contoso.example", "initial", t0, "failed",
                    error="login to the source refused")
    boxes = {m["address"]: m for m in order_detail(store, "o-1")["mailboxes"]}
    assert boxes["u0@contoso.example"]["passes"] == [
        {"pass": "initial", "state": "completed", "runs": 1, "messages": 120,
         "bytes": 4_800_000, "errors": 0, "started_at": None,
         "ended_at": "2026-03-02T09:30:00Z", "error": ""},
        {"pass": "sweep", "state": "completed", "runs": 2, "messages": 1, "bytes": 2_000,
         "errors": 0, "started_at": None, "ended_at": "2026-03-03T09:30:00Z", "error": ""}]
    assert boxes["u1@contoso.example"]["passes"][0]["error"] == "login to the source refused"
    assert boxes["info@contoso.example"]["passes"] == []
    printed = StringIO()
    print_mailboxes(list(boxes.values()), Console(file=printed, width=400))
    assert "initial: completed 120 msgs, 4,800,000 B" in printed.getvalue()


def test_a_running_pass_shows_its_progress_throughput_and_eta(
        store: SqlStore, state_factory: Callable[..., OrderState], t0: datetime) -> None:
    from mailflip.stack.views import order_detail, print_mailboxes

    store.record(state_factory(), [])
    store.save_progress("o-1", "u0@contoso.example", "initial", t0, t0 + timedelta(seconds=10),
                        {"messages_copied": 40, "messages_to_copy": 120,
                         "bytes_copied": 1_000_000, "bytes_to_copy": 3_000_000})
    [box] = [m for m in order_detail(store, "o-1")["mailboxes"]
             if m["address"] == "u0@contoso.example"]
    [running] = box["passes"]
    assert running["state"] == "running" and running["runs"] == 0
    assert (running["messages"], running["messages_total"]) == (40, 120)
    assert running["bytes_per_s"] == 100_000 and running["eta_s"] == 20
    printed = StringIO()
    print_mailboxes([box], Console(file=printed, width=400))
    assert "initial: running 40/120 msgs, 100,000 B/s, ETA 20 s" in printed.getvalue()
    store.save_pass("o-1", "u0@contoso.example", "initial", t0 + timedelta(seconds=30),
                    "completed", 120, 3_000_000)
    [done] = [m for m in order_detail(store, "o-1")["mailboxes"]
              if m["address"] == "u0@contoso.example"][0]["passes"]
    assert done["state"] == "completed" and done["runs"] == 1 and "eta_s" not in done


async def test_passes_ending_together_are_written_together_with_every_run_counted(
        store: SqlStore, state_factory: Callable[..., OrderState], t0: datetime) -> None:
    """A big order's short passes end by the hundred: SqlMirror writes those waiting in
    one transaction (not one each), in their order: a pass's progress, then its end;
    each end of a sweep counts a run; a bad write is refused before it joins a batch."""
    import asyncio

    from sqlalchemy import event

    from mailflip.store.sql_mirror import SqlMirror

    store.record(state_factory(), [])
    transactions: list[int] = []
    event.listen(store.engine, "begin", lambda conn: transactions.append(1))
    mirror = SqlMirror(store)
    boxes = [f"u{i}@contoso.example" for i in range(300)]

    async def pass_of(box: str) -> None:
        await mirror.save_progress("o-1", box, "sweep", t0, t0 + timedelta(seconds=1),
                                   {"messages_copied": 1, "messages_to_copy": 2})
        await mirror.save_pass("o-1", box, "sweep", t0 + timedelta(seconds=2), "completed", 2,
                               200, started=t0)

    await asyncio.gather(*(pass_of(b) for b in boxes))
    await asyncio.gather(*(mirror.save_pass("o-1", b, "sweep", t0 + timedelta(days=1),
                                            "completed", 1, 100) for b in boxes))
    with pytest.raises(InvalidInput, match="mailbox"):
        await mirror.save_pass("o-1", "", "sweep", t0, "completed")

    rows = {r.mailbox: r for r in store.passes("o-1")}
    assert set(rows) == set(boxes)
    assert {(r.state, r.runs, r.messages, r.ended_at) for r in rows.values()} == {
        ("completed", 2, 1, t0 + timedelta(days=1))}
    assert len(transactions) <= 10, f"{len(transactions)} transactions for 900 writes"
