"""Sync passes inside the lifecycle (SPEC.md "Sync passes", S9, S10): passes that take
days, transient and permanent failures, sync_failed tasks, and a completion that waits
for them (time-skipping server)."""

from __future__ import annotations

from .kit import base, first, merge, of, run

POST = ("final", "delta", "sweep")


def scenario(until: str = "+40d", **sync: object) -> dict:
    sc = merge(base(users=[{"name": "Ann", "source": "ann@contoso.com",
                            "target": "ann@contoso.com", "sku": "SPB"},
                           {"name": "Bob", "source": "bob@contoso.com",
                            "target": "bob@contoso.com", "sku": "SPB"}]),
               until=until)
    sc["world"]["sync"] = {"duration": "30m", **sync}
    return sc


def passes(out, mailbox: str, name: str) -> list[tuple[str, str]]:
    """(minute, state): the server's clock runs in real time between skips, so a loaded
    machine may print an instant a second late."""
    return [(e["at"][:16], e["state"]) for e in of(out, "sync", mailbox=mailbox,
                                                   **{"pass": name})
            if e["state"] in ("started", "completed", "failed")]


async def test_r_pass_long_a_3_day_initial_pass_completes():
    out = await run(scenario(until="+10d", duration="3d"))

    assert passes(out, "ann@contoso.com", "initial") == [
        ("2026-12-01T09:00", "started"), ("2026-12-04T09:00", "completed")]
    assert not of(out, "task", code="sync_failed")


async def test_a_zero_length_pass_completes_when_it_starts():
    out = await run(scenario(until="+2d", duration="0s"))

    assert passes(out, "ann@contoso.com", "initial") == [
        ("2026-12-01T09:00", "started"), ("2026-12-01T09:00", "completed")]


async def test_r_complete_5d_waits_for_a_2_day_final_and_a_2_day_delta():
    sc = scenario(until="complete", duration="2d")
    sc["order"]["cutover"] = "+14d"  # cutover 2026-12-15 09:00
    out = await run(sc)

    blocked = first(out, "alert", code="completion_blocked")
    assert blocked["at"] == "2026-12-20T09:00:00Z" and "still running" in blocked["detail"]
    assert len(of(out, "alert", code="completion_blocked")) == 1
    complete = first(out, "status", status="Migration Complete")
    last_pass_end = max(e["at"] for e in of(out, "sync") if e["state"] == "completed")
    assert complete["at"] == last_pass_end > "2026-12-20T09:00:00Z"
    assert first(out, "email", template="poc_all_syncs_done")["at"] == complete["at"]


async def test_r_pass_retry_transient_errors_until_an_instant_are_retried_and_complete():
    out = await run(scenario(fail=[{"mailbox": "bob@contoso.com", "pass": "initial",
                                    "transient": True, "until": "+12h"}]))

    assert passes(out, "bob@contoso.com", "initial") == [
        ("2026-12-01T09:00", "started"), ("2026-12-01T21:30", "completed")]
    assert not of(out, "task", code="sync_failed")


async def test_r_pass_retry_gives_up_after_pass_give_up_and_the_chain_goes_on():
    out = await run(scenario(fail=[{"mailbox": "bob@contoso.com", "pass": "initial",
                                    "transient": True, "until": "+3d"}]))

    assert passes(out, "bob@contoso.com", "initial") == [
        ("2026-12-01T09:00", "started"), ("2026-12-02T09:00", "failed")]
    task = first(out, "task", code="sync_failed", subject="bob@contoso.com")
    assert task["state"] == "open" and task["at"][:16] == "2026-12-02T09:00"
    # the next pass (a resync) catches up and resolves the task by itself
    resolved = first(out, "task", code="sync_failed", state="resolved")
    assert resolved["by"] == "system"
    assert resolved["at"][:16] == next(at for at, st in passes(out, "bob@contoso.com", "resync")
                                  if st == "completed")


async def test_r_sync_failed_a_permanent_failure_opens_a_task_and_emails_the_partner_once():
    out = await run(scenario(until="complete",
                             fail=[{"mailbox": "bob@contoso.com", "pass": p} for p in POST]))

    failed = [st for name in POST for _, st in passes(out, "bob@contoso.com", name)
              if st == "failed"]
    assert len(failed) >= 3  # final, delta and every sweep
    emails = of(out, "email", template="partner_sync_failed")
    assert len(emails) == 3 and {e["to"] for e in emails} == {"ops@acme.example"}
    # the task holds completion: access and credentials are kept, the POC is not told
    assert first(out, "alert", code="completion_blocked")["detail"].endswith("bob@contoso.com")
    assert len(of(out, "alert", code="completion_blocked")) == 1
    assert not of(out, "status", status="Migration Complete")
    assert not of(out, "email", template="poc_all_syncs_done")
    assert out.state.status.value == "Sweeping Email" and not out.state.completed
    assert not out.mirror.credentials_purged


async def test_rerun_sync_is_refused_to_a_partner_and_runs_for_support_then_resolve_task():
    sc = scenario(until="complete",
                  fail=[{"mailbox": "bob@contoso.com", "pass": p, "until": "+27d"} for p in POST])
    sc["events"] += [
        {"at": "+27d", "action": "rerun_sync", "by": "partner", "mailbox": "bob@contoso.com"},
        {"at": "+27d", "action": "rerun_sync", "by": "support", "mailbox": "bob@contoso.com",
         "pass": "final"},
    ]
    out = await run(sc)

    refused, accepted = of(out, "action", action="rerun_sync")
    assert not refused["accepted"] and refused["error"] == "by: only support reruns a sync pass"
    assert accepted["accepted"]
    rerun = passes(out, "bob@contoso.com", "final")
    assert [st for _, st in rerun] == ["started", "failed", "started", "completed"]
    assert rerun[2][0] == "2026-12-28T09:00"
    resolved = first(out, "task", code="sync_failed", state="resolved")
    assert resolved["by"] == "support" and resolved["at"][:16] == "2026-12-28T09:00"
    assert first(out, "status", status="Migration Complete")["at"][:16] == rerun[3][0]


async def test_resolve_task_by_support_accepts_a_loss_and_lets_the_order_complete():
    sc = scenario(until="complete",
                  fail=[{"mailbox": "bob@contoso.com", "pass": p} for p in POST])
    sc["events"] += [{"at": "+28d", "action": "resolve_task", "by": "support",
                      "code": "sync_failed", "subject": "bob@contoso.com",
                      "reason": "mailbox closed at the source"}]
    out = await run(sc)

    resolved = first(out, "task", code="sync_failed", state="resolved")
    assert resolved["by"] == "support" and resolved["reason"] == "mailbox closed at the source"
    assert first(out, "status", status="Migration Complete")["at"][:16] == "2026-12-29T09:00"
    assert out.mirror.credentials_purged == {"sim-1"}


async def test_r_reconcile_grades_skipped_and_gaps_and_gaps_after_the_last_sweep_open_a_task():
    sc = scenario(until="+40d", skipped={"ann@contoso.com": 3},
                  missing=[{"mailbox": "bob@contoso.com", "count": 2, "until": "+23d"}])
    out = await run(sc)

    ann = of(out, "report", mailbox="ann@contoso.com")
    assert ann and {r["grade"] for r in ann} == {"skipped"}
    assert [r["pass"] for r in ann][:2] == ["final", "delta"]  # every post-cutover pass
    assert all((r["source"], r["target"], r["skipped"], r["missing"]) == (100, 97, 3, 0)
               for r in ann)
    bob = of(out, "report", mailbox="bob@contoso.com")
    assert bob[0]["grade"] == "gaps" and bob[0]["missing"] == 2
    assert bob[-1]["grade"] == "complete"  # a later sweep copied them: retried, no task
    assert not of(out, "task", code="sync_gaps")
    assert first(out, "status", status="Migration Complete")
    assert out.state.mailboxes["ann@contoso.com"].grade == "skipped"


async def test_r_reconcile_gaps_after_the_last_sweep_open_sync_gaps_and_hold_completion():
    sc = scenario(until="+40d",
                  missing=[{"mailbox": "bob@contoso.com", "count": 2, "until": "+30d"}])
    out = await run(sc)

    task = first(out, "task", code="sync_gaps", subject="bob@contoso.com")
    last_sweep = of(out, "report", mailbox="bob@contoso.com")[-1]
    assert task["state"] == "open" and last_sweep["grade"] == "gaps"
    assert first(out, "alert", code="completion_blocked")
    assert not of(out, "status", status="Migration Complete")
