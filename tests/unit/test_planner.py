"""The pure planner: what is due when (no Temporal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailflip.domain import actions as act
from mailflip.domain import outcomes, planner
from mailflip.domain.lifecycle import Change
from mailflip.domain.model import OrderSpec, Poc, UserSpec
from mailflip.domain.names import Ctp, CtpState, Rule, Status
from mailflip.domain.rules import Timings
from mailflip.errors import InvalidInput

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CUT = T0 + timedelta(days=10)
T = Timings()
HOLD = planner.FireRule(Rule.HOLD_48)
READINESS = planner.CheckReadiness()
CUTOVER = planner.Cutover()
MX_STUCK = planner.FireRule(Rule.MX_STUCK)
COMPLETE = planner.FireRule(Rule.COMPLETE_5D)
POC_DONE = planner.FireRule(Rule.POC_DONE)


def state(status: Status = Status.VERIFYING_VANITY, verified: bool = False):
    spec = OrderSpec("acme", "Contoso", Poc("Pat", "pat@contoso.com"), CUT,
                     "contoso.onmicrosoft.com", vanity_domains=["contoso.com"],
                     users=[UserSpec("Ann", "ann@old.example", "ann@contoso.com", "SPB")])
    s = act.init_state("o1", spec, T0)
    act.check_place(s, T0, T, "partner").apply(Change(s, T0, T))
    s.ctps[Ctp.SETUP_O365.value].state = CtpState.COMPLETED
    s.status = status
    s.domains["contoso.com"].verified = verified
    return s


def test_r_hold_48_due_at_cutover_minus_48h_when_a_domain_is_unverified():
    s = state()
    at = CUT - timedelta(hours=48)
    assert HOLD not in planner.due(s, at - timedelta(seconds=1), T)
    assert HOLD in planner.due(s, at, T)
    assert planner.next_wake(s, T0, T) <= at
    c = planner.apply(HOLD, s, at, T)
    assert s.hold and s.hold.reason == "vanity_domain_unverified"
    assert [k for k, _ in c.events] == ["hold", "task", "alert"]
    assert [n.template for n in c.outbox] == ["partner_domain_unverified_hold"]
    assert HOLD not in planner.due(s, at, T)


def test_r_hold_48_not_due_when_verified_or_while_setup_checks_domains():
    assert HOLD not in planner.due(state(verified=True), CUT - timedelta(hours=47), T)
    s = state()
    s.ctps[Ctp.SETUP_O365.value].state = CtpState.RUNNING
    assert HOLD not in planner.due(s, CUT - timedelta(hours=47), T)


def test_r_readiness_4h_due_once_per_cutover():
    s = state(Status.WAITING_FOR_MIGRATION, verified=True)
    at = CUT - timedelta(hours=4)
    assert READINESS not in planner.due(s, at - timedelta(minutes=1), T)
    assert READINESS in planner.due(s, at, T)
    s.fired.append(f"R-READINESS-4H@{CUT.isoformat()}")
    assert READINESS not in planner.due(s, at, T)


def test_wait_for_migration_date_completes_at_cutover_unless_on_hold():
    s = state(Status.WAITING_FOR_MIGRATION, verified=True)
    Change(s, T0, T).start_ctp(Ctp.WAIT_FOR_DATE)
    assert CUTOVER not in planner.due(s, CUT - timedelta(seconds=1), T)
    assert CUTOVER in planner.due(s, CUT, T)
    planner.apply(CUTOVER, s, CUT, T)
    assert s.status is Status.UPDATING_MX
    held = state(Status.WAITING_FOR_MIGRATION, verified=True)
    Change(held, T0, T).start_ctp(Ctp.WAIT_FOR_DATE)
    Change(held, T0, T).put_on_hold(["contoso.com"])
    assert CUTOVER not in planner.due(held, CUT + timedelta(days=1), T)


def test_r_mx_stuck_due_15_minutes_after_cutover_in_s7_once():
    s = state(Status.UPDATING_MX, verified=True)
    assert MX_STUCK not in planner.due(s, CUT + timedelta(minutes=14), T)
    assert MX_STUCK in planner.due(s, CUT + timedelta(minutes=15), T)
    planner.apply(MX_STUCK, s, CUT + timedelta(minutes=15), T)
    assert [a.code for a in s.alerts] == ["mx_stuck"] and s.alerts[0].severity == "critical"
    assert MX_STUCK not in planner.due(s, CUT + timedelta(minutes=16), T)


def test_r_complete_5d_waits_for_the_syncs_and_r_poc_done_fires_once():
    s = state(Status.SWEEPING, verified=True)
    at = CUT + timedelta(days=5)
    assert COMPLETE not in planner.due(s, at - timedelta(seconds=1), T)
    planner.apply(COMPLETE, s, at, T)  # passes still running: blocked, not complete
    assert s.status is Status.SWEEPING
    assert [a.code for a in s.alerts] == ["completion_blocked"]
    assert COMPLETE not in planner.due(s, at, T)  # raised once
    s.syncs_settled = True
    assert [i for i in planner.due(s, at, T) if planner.is_pure(i)] == [POC_DONE, COMPLETE]
    planner.apply(POC_DONE, s, at, T)
    planner.apply(COMPLETE, s, at, T)
    assert s.status is Status.COMPLETE
    assert POC_DONE not in planner.due(s, at, T)


def test_r_complete_5d_and_r_poc_done_are_held_by_an_open_sync_failed_task():
    s = state(Status.SWEEPING, verified=True)
    s.syncs_settled = True
    at = CUT + timedelta(days=5)
    c = Change(s, at, T)
    outcomes.syncs_reported(c, [["ann@contoso.com", "final", "login refused"]], [], True)
    assert POC_DONE not in planner.due(s, at, T)
    planner.apply(COMPLETE, s, at, T)
    assert s.status is Status.SWEEPING
    assert "ann@contoso.com" in s.alerts[-1].detail
    assert s.alerts[-1].code == "completion_blocked"
    assert [n.template for n in c.outbox] == ["partner_sync_failed"]
    again = Change(s, at, T)
    outcomes.syncs_reported(again, [["ann@contoso.com", "final", "login refused"]], [], True)
    assert again.outbox == []  # once per mailbox and pass
    act.check_resolve_task(s, at, T, "support", "sync_failed", "ann@contoso.com",
                           "mailbox closed at the source").apply(Change(s, at, T))
    assert [i for i in planner.due(s, at, T) if planner.is_pure(i)] == [POC_DONE, COMPLETE]


def test_r_sync_failed_resolves_itself_when_a_later_pass_completes():
    s = state(Status.SWEEPING, verified=True)
    c = Change(s, CUT, T)
    outcomes.syncs_reported(c, [["ann@contoso.com", "final", "timed out"]], [], False)
    assert s.mailboxes["ann@contoso.com"].failed_pass == "final"
    outcomes.syncs_reported(c, [], [["ann@contoso.com", "delta"]], False)
    [task] = s.tasks
    assert task.state == "resolved" and task.resolved_by == "system"
    assert s.mailboxes["ann@contoso.com"].failed_pass == ""


def test_rerun_sync_and_resolve_task_are_for_support_only():
    s = state(Status.SWEEPING, verified=True)
    s.mailboxes["ann@contoso.com"].sync_started = True
    outcomes.syncs_reported(Change(s, CUT, T), [["ann@contoso.com", "final", "x"]], [], False)
    for check, args in ((act.check_rerun_sync, ("ann@contoso.com", None)),
                        (act.check_resolve_task, ("sync_failed", "ann@contoso.com", "ok"))):
        with pytest.raises(InvalidInput) as err:
            check(s, CUT, T, "partner", *args)
        assert err.value.field == "by"
    cmd = act.check_rerun_sync(s, CUT, T, "support", "ann@contoso.com", None)
    assert cmd.pass_name == "final"  # the last failed pass by default
    with pytest.raises(InvalidInput) as err:
        act.check_resolve_task(s, CUT, T, "support", "sync_failed", "ann@contoso.com", " ")
    assert err.value.field == "reason"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-12 * 24 * 60, max_value=8 * 24 * 60), st.booleans(),
       st.sampled_from([Status.VERIFYING_VANITY, Status.WAITING_FOR_MIGRATION,
                        Status.UPDATING_MX, Status.SWEEPING]))
def test_applying_pure_items_reaches_a_fixpoint_and_never_moves_backwards(minutes, settled,
                                                                         status):
    s = state(status, verified=status is not Status.VERIFYING_VANITY)
    if status is Status.WAITING_FOR_MIGRATION:
        Change(s, T0, T).start_ctp(Ctp.WAIT_FOR_DATE)
    s.syncs_settled = settled
    now = CUT + timedelta(minutes=minutes)
    for _ in range(20):
        items = [i for i in planner.due(s, now, T) if planner.is_pure(i)]
        if not items:
            break
        before = s.status.number
        planner.apply(items[0], s, now, T)
        assert s.status.number in (before, before + 1)
    else:
        raise AssertionError("pure planner items never settle")
    wake = planner.next_wake(s, now, T)
    assert wake is None or wake > now


def test_workflow_task_failing_raises_one_alert_per_workflow_run():
    s = state()
    for _ in range(2):
        outcomes.workflow_task_failing(Change(s, T0, T), "syncs-o1/3 (run 1a2b3c4d): boom")
    outcomes.workflow_task_failing(Change(s, T0, T), "syncs-o1/3 (run 9f9f9f9f): boom")
    assert [(a.code, a.severity) for a in s.alerts] == [("workflow_task_failing", "critical")] * 2
