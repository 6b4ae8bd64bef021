"""S6-S10 rules on the real workflows (time-skipping server), named after SPEC.md."""

from __future__ import annotations

import pytest

from mailflip.domain.names import Ctp, Status

from .kit import base, ctp_states, first, merge, of, run, statuses, users

S = Ctp


def resyncs(out, mailbox="u1@contoso.com"):
    return [e["at"] for e in of(out, "sync", mailbox=mailbox, state="started")
            if e["pass"] == "resync"]


@pytest.mark.parametrize("cutover,expected", [
    ("+40d", ["2026-12-21T09:00:00Z", "2026-12-31T09:00:00Z", "2027-01-08T15:00:00Z"]),
    ("+39d", ["2026-12-30T09:00:00Z", "2027-01-07T15:00:00Z"]),
    ("+20d", ["2026-12-11T09:00:00Z", "2026-12-19T15:00:00Z"]),
    ("+19d", ["2026-12-18T15:00:00Z"]),
    ("+7d", ["2026-12-06T15:00:00Z"]),
    ("+6d23h", []),
])
async def test_r_resync_stacking_at_the_7_20_40_day_boundaries(cutover, expected):
    out = await run(merge(base(cutover=cutover), until=cutover))
    assert resyncs(out) == expected


async def test_r_resync_replan_on_cutover_change_keeps_resyncs_already_run():
    sc = merge(base(cutover="+40d"), until="+30d", events=[
        {"at": "+0m", "action": "place"},
        {"at": "+22d", "action": "change_cutover", "cutover": "+30d"}])
    out = await run(sc)
    # C-20d ran on Dec 21; re-planned at Dec 23 with 8 days of lead: one at C'-42h only
    assert resyncs(out) == ["2026-12-21T09:00:00Z", "2026-12-29T15:00:00Z"]
    assert [r.state for r in out.state.resyncs] == ["started", "cancelled", "cancelled",
                                                    "started"]


async def test_a_resync_covers_only_mailboxes_whose_initial_sync_completed():
    sc = merge(base(cutover="+8d", source={"admin_credentials": False}), until="+8d",
               world={"tenant": {"licenses": {"SPB": 9}, "verified_domains": ["contoso.com"]},
                      "users": {"u2@contoso.com": {"ready_at": "+7d"}}})
    out = await run(sc)
    assert resyncs(out, "u1@contoso.com") == ["2026-12-07T15:00:00Z"]
    assert resyncs(out, "u2@contoso.com") == []


async def test_prepare_emails_at_cutover_minus_72h_or_on_entering_s6_if_later():
    far = await run(merge(base(cutover="+10d"), until="+10d"))
    assert first(far, "ctp", ctp=S.PREPARE_EMAILS.value, state="waiting")["at"] == \
        "2026-12-01T09:00:00Z"
    assert {e["at"] for e in of(far, "email", template="user_prepare_for_migration")} == \
        {"2026-12-08T09:00:00Z"}
    near = await run(merge(base(cutover="+2d"), until="+2d"))
    assert ctp_states(near, S.PREPARE_EMAILS.value) == ["running", "completed"]
    assert sorted(e["to"] for e in of(near, "email", template="user_prepare_for_migration")) \
        == ["u1@contoso.com", "u2@contoso.com"]
    assert {e["at"] for e in of(near, "email", template="user_prepare_for_migration")} == \
        {"2026-12-01T09:00:00Z"}


async def test_r_readiness_4h_missing_or_unready_agent_gets_a_task():
    sc = merge(base(users=users(3), cutover="+5d"), until="+5d", world={
        "tenant": {"licenses": {"SPB": 9}, "verified_domains": ["contoso.com"]},
        "agents": {"u2@contoso.com": "missing", "u3@contoso.com": "not_ready"}})
    out = await run(sc)
    tasks = of(out, "task", code="agent_not_ready")
    assert sorted(t["subject"] for t in tasks) == ["u2@contoso.com", "u3@contoso.com"]
    assert {t["at"] for t in tasks} == {"2026-12-06T05:00:00Z"}
    assert first(out, "status", status=Status.UPDATING_MX.value)  # it does not block


async def test_r_lock_4h_refuses_partner_changes_support_still_acts():
    sc = merge(base(cutover="+5d"), until="+5d", events=[
        {"at": "+0m", "action": "place"},
        {"at": "+4d19h", "action": "add_user", "user": users(1, start=8)[0]},
        {"at": "+4d21h", "action": "add_user", "user": users(1, start=8)[0]},
        {"at": "+4d21h", "action": "update_settings", "settings": {"ssi": True}},
        {"at": "+4d21h", "action": "change_cutover", "cutover": "+6d"},
        {"at": "+4d21h", "action": "add_user", "by": "support",
         "user": users(1, start=9)[0]}])
    out = await run(sc)
    accepted = [(a["at"], a["action"], a["by"], a["accepted"]) for a in of(out, "action")[1:]]
    assert accepted == [
        ("2026-12-06T04:00:00Z", "add_user", "partner", True),
        ("2026-12-06T06:00:00Z", "add_user", "partner", False),
        ("2026-12-06T06:00:00Z", "update_settings", "partner", False),
        ("2026-12-06T06:00:00Z", "change_cutover", "partner", False),
        ("2026-12-06T06:00:00Z", "add_user", "support", True)]
    refused = [a for a in of(out, "action") if not a["accepted"]]
    assert all("R-LOCK-4H" in a["error"] for a in refused)


async def test_r_hold_48_puts_order_on_hold_then_support_releases_with_new_cutover():
    sc = merge(base(cutover="+10d"), until="+12d",
               world={"tenant": {"licenses": {"SPB": 9}},
                      "dns": {"contoso.com": {"txt_published_at": "+9d",
                                              "mx_to_m365_at": "+9d"}}},
               events=[{"at": "+0m", "action": "place"},
                       {"at": "+9d1h", "action": "release_hold", "by": "support",
                        "cutover": "+10d"},
                       {"at": "+9d1h", "action": "release_hold", "by": "support",
                        "cutover": "+11d2h"}])
    out = await run(sc)
    hold = first(out, "hold", on=True)
    assert hold["at"] == "2026-12-09T09:00:00Z" and hold["reason"] == "vanity_domain_unverified"
    first(out, "email", template="partner_domain_unverified_hold", to="ops@acme.example")
    assert first(out, "task", code="domain_not_verified")["subject"] == "contoso.com"
    assert first(out, "alert", code="order_on_hold")["at"] == "2026-12-09T09:00:00Z"
    too_soon, ok = of(out, "action")[1:]
    assert not too_soon["accepted"] and "48" in too_soon["error"]
    assert ok["accepted"]
    assert first(out, "hold", on=False)["at"] == "2026-12-10T10:00:00Z"
    # nothing moved to Updating MX Record at the old cutover; it did at the new one
    assert first(out, "status", status=Status.UPDATING_MX.value)["at"] == "2026-12-12T11:00:00Z"
    assert first(out, "task", code="domain_not_verified", state="resolved")["by"] == \
        "support"


async def test_r_ctp_s7_ten_minute_timer_and_mx_change_email_when_mx_is_wrong():
    wrong = await run(merge(base(cutover="+3d"), until="+4d", world={
        "tenant": {"licenses": {"SPB": 9}, "verified_domains": ["contoso.com"]},
        "dns": {"contoso.com": {"mx_to_m365_at": "never"}}}))
    assert first(wrong, "email", template="partner_mx_change_needed")["at"] == \
        "2026-12-04T09:00:00Z"
    assert first(wrong, "status", status=Status.MIGRATING.value)["at"] == "2026-12-04T09:10:00Z"
    right = await run(merge(base(cutover="+3d"), until="+4d"))
    assert not of(right, "email", template="partner_mx_change_needed")
    assert first(right, "status", status=Status.MIGRATING.value)["at"] == "2026-12-04T09:10:00Z"


async def test_r_mx_stuck_critical_alert_15_minutes_after_cutover():
    sc = merge(base(cutover="+3d"), until="+4d", world={
        "tenant": {"licenses": {"SPB": 9}, "verified_domains": ["contoso.com"]},
        "dns": {"contoso.com": {"mx_to_m365_at": "+1d"}},
        "faults": [{"ctp": "Updating MX Record", "until": "+3d1h"}]})
    out = await run(sc)
    alert = first(out, "alert", code="mx_stuck")
    assert (alert["at"], alert["severity"]) == ("2026-12-04T09:15:00Z", "critical")
    assert len(of(out, "alert", code="mx_stuck")) == 1
    assert first(out, "status", status=Status.MIGRATING.value)["at"] > "2026-12-04T10:00:00Z"
    healthy = await run(merge(base(cutover="+3d"), until="+4d"))
    assert not of(healthy, "alert", code="mx_stuck")


async def test_s8_migrate_email_switch_emails_agent_flip_and_final_syncs():
    out = await run(merge(base(cutover="+3d"), until="+4d"))
    switch = of(out, "email", template="user_switch")
    assert sorted(e["to"] for e in switch) == ["u1@contoso.com", "u2@contoso.com"]
    assert out.world.flipped == ["u1@contoso.com", "u2@contoso.com"]
    finals = [e for e in of(out, "sync", state="scheduled") if e["pass"] == "final"]
    assert {e["at"] for e in finals} == {"2026-12-04T09:10:00Z"}
    lines = out.lines
    mig_done = lines.index(first(out, "ctp", ctp=S.MIGRATE_EMAIL.value, state="completed"))
    success = first(out, "ctp", ctp=S.MIGRATION_SUCCESS_EMAILS.value, state="running")
    assert lines.index(success) > mig_done
    assert lines.index(first(out, "status", status=Status.SWEEPING.value)) > mig_done
    assert len(of(out, "email", template="user_migration_successful")) == 2


async def test_per_mailbox_final_then_delta_then_sweeps_every_24h_until_cutover_plus_4d():
    out = await run(merge(base(cutover="+3d", users=users(1)), until="+9d"))
    passes = [(e["at"], e["pass"]) for e in of(out, "sync", mailbox="u1@contoso.com",
                                                 state="started")
              if e["pass"] in ("final", "delta", "sweep")]
    assert passes == [
        ("2026-12-04T09:10:00Z", "final"), ("2026-12-04T09:40:00Z", "delta"),
        ("2026-12-04T10:10:00Z", "sweep"), ("2026-12-05T10:10:00Z", "sweep"),
        ("2026-12-06T10:10:00Z", "sweep"), ("2026-12-07T10:10:00Z", "sweep")]


async def test_r_poc_done_email_once_when_all_syncs_are_done():
    out = await run(merge(base(cutover="+3d"), until="+9d"))
    done = of(out, "email", template="poc_all_syncs_done")
    assert [(e["at"], e["to"]) for e in done] == [("2026-12-07T10:40:00Z", "pat@contoso.com")]
    last_sweep = max(e["at"] for e in of(out, "sync", state="completed"))
    assert done[0]["at"] == last_sweep


async def test_r_complete_5d_and_s10_ctps_remove_access_and_purge_credentials():
    out = await run(merge(base(cutover="+3d"), until="complete"))
    assert first(out, "status", status=Status.COMPLETE.value)["at"] == "2026-12-09T09:00:00Z"
    for ctp in (S.DELETE_SERVICE_ACCOUNTS, S.COMPLETED_STEPS):
        assert ctp_states(out, ctp.value) == ["running", "completed"]
    assert out.world.service_identity is False
    assert "sim-1" in out.mirror.credentials_purged
    first(out, "email", template="partner_migration_complete", to="ops@acme.example")
    assert out.lines[-1] == {"at": "2026-12-09T09:00:00Z", "kind": "end",
                             "status": "Migration Complete", "on_hold": False,
                             "cancelled": False}
    assert statuses(out)[-3:] == [Status.MIGRATING.value, Status.SWEEPING.value,
                                  Status.COMPLETE.value]


async def test_r_complete_5d_is_delayed_while_syncs_still_run():
    sc = merge(base(cutover="+3d"), until="complete", world={
        "tenant": {"licenses": {"SPB": 9}, "verified_domains": ["contoso.com"]},
        "dns": {"contoso.com": {"mx_to_m365_at": "+1d"}}, "sync": {"duration": "2d"}})
    out = await run(sc)
    last_pass = max(e["at"] for e in of(out, "sync", state="completed"))
    complete = first(out, "status", status=Status.COMPLETE.value)
    assert complete["at"] == last_pass > "2026-12-09T09:00:00Z"


async def test_cancel_stops_syncs_removes_service_account_nothing_more_runs():
    sc = merge(base(cutover="+10d"), until="+12d", events=[
        {"at": "+0m", "action": "place"},
        {"at": "+1d", "action": "cancel"},
        {"at": "+1d1h", "action": "change_cutover", "cutover": "+11d"}])
    out = await run(sc)
    assert out.world.service_identity is False
    assert ctp_states(out, S.DELETE_SERVICE_ACCOUNTS.value) == ["running", "completed"]
    assert not of(out, "status", status=Status.UPDATING_MX.value)
    later = [e for e in out.lines if e["at"] > "2026-12-02T09:00:00Z"
             and e["kind"] not in ("action", "end")]
    assert later == []
    assert out.lines[-1]["cancelled"] is True
    assert of(out, "action")[-1]["accepted"] is False


async def test_cancel_is_refused_after_cutover():
    sc = merge(base(cutover="+3d"), until="+4d", events=[
        {"at": "+0m", "action": "place"},
        {"at": "+3d1h", "action": "cancel", "by": "support"}])
    out = await run(sc)
    refused = of(out, "action")[-1]
    assert refused["accepted"] is False
    assert refused["error"] == "action: cancel is not allowed in status 'Sweeping Email'"
    assert out.state.status is Status.SWEEPING and not out.state.cancelled


async def test_each_notification_at_most_once_per_recipient_and_trigger():
    out = await run(merge(base(cutover="+3d", source={"admin_credentials": False}),
                          until="complete"))
    emails = [(e["template"], e["to"]) for e in of(out, "email")]
    assert len(emails) == len(set(emails))
    assert len(out.world.sent) == len(emails)
