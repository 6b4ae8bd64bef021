"""S2-S5 rules on the real workflows (time-skipping server), named after SPEC.md."""

from __future__ import annotations

from mailflip.domain.names import Ctp, Status
from mailflip.lifecycle.order.messages import EngineSettings

from .kit import base, ctp_states, first, merge, of, run, statuses, users

S = Ctp


async def test_r_ctp_s2_bad_credentials_task_then_rerun_on_update_credentials():
    sc = merge(base(), until="+2d",
               world={"tenant": {"credentials_valid": False, "licenses": {"SPB": 9},
                                 "verified_domains": ["contoso.com"]}},
               events=[{"at": "+0m", "action": "place"},
                       {"at": "+1d", "action": "update_credentials"}])
    out = await run(sc)
    failed = first(out, "ctp", ctp=S.SETUP_O365.value, state="failed")
    assert failed["at"] == "2026-12-01T09:00:00Z" and "refused" in failed["error"]
    opened = first(out, "task", code="o365_credentials_invalid", state="open")
    resolved = first(out, "task", code="o365_credentials_invalid", state="resolved")
    assert opened["at"] < resolved["at"] == "2026-12-02T09:00:00Z"
    assert ctp_states(out, S.SETUP_O365.value) == ["running", "failed", "running", "completed"]
    assert first(out, "status", status=Status.INITIATING_VANITY.value)["at"] == \
        "2026-12-02T09:00:00Z"
    assert not of(out, "alert", code="ctp_failed")  # a task, not an alert


async def test_r_ctp_s2_insufficient_licenses_alert_and_email_order_goes_on():
    sc = merge(base(users=users(3)), until="+2d",
               world={"tenant": {"licenses": {"SPB": 1}, "verified_domains": ["contoso.com"]}})
    out = await run(sc)
    alert = first(out, "alert", code="insufficient_licenses")
    assert alert["severity"] == "warning" and "2 missing" in alert["detail"]
    first(out, "email", template="partner_insufficient_licenses", to="ops@acme.example")
    assert Status.WAITING_FOR_MIGRATION.value in statuses(out)


async def test_r_ctp_s2_creates_waiting_ctps_that_run_after_setup():
    out = await run(merge(base(), until="+1d"))
    for ctp in (S.PWD_FLAGS, S.GATHER_INFO, S.START_SYNCS):
        assert ctp_states(out, ctp.value)[0] == "waiting"
    lines = out.lines
    setup_done = lines.index(first(out, "ctp", ctp=S.SETUP_O365.value, state="completed"))
    pwd_run = lines.index(first(out, "ctp", ctp=S.PWD_FLAGS.value, state="running"))
    assert setup_done < pwd_run
    assert out.world.service_identity  # MigrationApp created, kept until S10
    assert statuses(out)[:3] == [Status.SAVED.value, Status.AWAITING_O365.value,
                                 Status.INITIATING_VANITY.value]


async def test_s3_ctps_run_after_pwd_flags_and_txt_email_goes_to_partner():
    sc = merge(base(), until="+1d", world={
        "tenant": {"licenses": {"SPB": 9}},
        "dns": {"contoso.com": {"txt_published_at": "+3h"}}})
    out = await run(sc)
    lines = out.lines
    pwd_done = lines.index(first(out, "ctp", ctp=S.PWD_FLAGS.value, state="completed"))
    for ctp in (S.GATHER_INFO, S.START_SYNCS, S.INITIATING_VANITY):
        assert lines.index(first(out, "ctp", ctp=ctp.value, state="running")) > pwd_done
    txt = first(out, "email", template="partner_dns_txt")
    assert txt["to"] == "ops@acme.example"
    assert out.world.sent  # went through the notifier port
    initiating_done = first(out, "ctp", ctp=S.INITIATING_VANITY.value, state="completed")
    assert lines.index(initiating_done) < lines.index(
        first(out, "status", status=Status.VERIFYING_VANITY.value))


async def test_gather_info_emails_only_users_who_must_give_their_password():
    sc = merge(base(source={"admin_credentials": False}), until="+1d")
    out = await run(sc)
    assert sorted(e["to"] for e in of(out, "email", template="user_gather_info")) == \
        ["u1@contoso.com", "u2@contoso.com"]
    out2 = await run(merge(base(), until="+1d"))  # admin credentials: nobody is asked
    assert not of(out2, "email", template="user_gather_info")


async def test_ssi_early_mailboxes_on_onmicrosoft_with_initial_sync_before_create():
    sc = merge(base(settings={"ssi": True, "rules_and_connectors": False},
                    source={"admin_credentials": False}), until="+3d",
               world={"tenant": {"licenses": {"SPB": 9}},
                      "dns": {"contoso.com": {"txt_published_at": "+2d"}},
                      "users": {"u2@contoso.com": {"ready_at": "+1d"}}})
    out = await run(sc)
    create = first(out, "ctp", ctp=S.CREATE_MAILBOXES.value, state="running")
    u1 = [e for e in of(out, "sync", mailbox="u1@contoso.com") if e["pass"] == "initial"][0]
    u2 = [e for e in of(out, "sync", mailbox="u2@contoso.com") if e["pass"] == "initial"][0]
    assert u1["at"] == "2026-12-01T09:00:00Z" < create["at"]
    assert u2["at"] == "2026-12-02T09:00:00Z" < create["at"]  # ready later, still early
    # created on .onmicrosoft.com (domain unverified), flipped by Create Mailboxes
    assert out.world.mailboxes == {"u1@contoso.com": "vanity", "u2@contoso.com": "vanity"}
    assert all(m.created == "vanity" for m in out.state.mailboxes.values())


async def test_ssi_off_initial_syncs_begin_at_create_mailboxes():
    sc = merge(base(), until="+3d", world={
        "tenant": {"licenses": {"SPB": 9}},
        "dns": {"contoso.com": {"txt_published_at": "+2d"}}})
    out = await run(sc)
    create_done = first(out, "ctp", ctp=S.CREATE_MAILBOXES.value, state="completed")
    initial = [e for e in of(out, "sync", state="scheduled") if e["pass"] == "initial"]
    assert initial and all(e["at"] == create_done["at"] for e in initial)


async def test_r_ctp_s4_polls_every_15_minutes_until_verified():
    sc = merge(base(), until="+3d", world={
        "tenant": {"licenses": {"SPB": 9}},
        "dns": {"contoso.com": {"txt_published_at": "+1d7m"}}})
    out = await run(sc)
    # published at 09:07 the next day: the 09:15 poll sees it
    assert first(out, "ctp", ctp=S.VERIFY_VANITY.value, state="completed")["at"] == \
        "2026-12-02T09:15:00Z"
    out2 = await run(sc, EngineSettings(verify_interval_s=3600))
    assert first(out2, "ctp", ctp=S.VERIFY_VANITY.value, state="completed")["at"] == \
        "2026-12-02T10:00:00Z"


async def test_r_ctp_s4_rules_and_connectors_when_the_setting_is_on():
    on = await run(merge(base(settings={"ssi": False, "rules_and_connectors": True}),
                         until="+1d"))
    off = await run(merge(base(), until="+1d"))
    assert "rules_and_connectors" in on.world.steps
    assert "rules_and_connectors" not in off.world.steps


async def test_r_mbx_25_exactly_25_percent_fails_and_order_stays_in_s5():
    sc = merge(base(users=users(4)), until="+2d", world={
        "tenant": {"licenses": {"SPB": 9}, "verified_domains": ["contoso.com"],
                   "mailbox_create_fails": ["u4@contoso.com"]}})
    out = await run(sc)
    failed = first(out, "ctp", ctp=S.CREATE_MAILBOXES.value, state="failed")
    assert failed["error"] == "1 of 4 mailboxes failed to create"
    task = first(out, "task", code="create_mailboxes_failed")
    assert task["subject"] is None and task["state"] == "open"
    assert out.state.status is Status.CREATING_MAILBOXES
    assert not of(out, "task", code="mailbox_failed")


async def test_r_mbx_25_below_completes_with_a_task_per_failed_mailbox():
    sc = merge(base(users=users(5)), until="+2d", world={
        "tenant": {"licenses": {"SPB": 9}, "verified_domains": ["contoso.com"],
                   "mailbox_create_fails": ["u5@contoso.com"]}})
    out = await run(sc)
    assert ctp_states(out, S.CREATE_MAILBOXES.value) == ["running", "completed"]
    assert [t["subject"] for t in of(out, "task", code="mailbox_failed")] == ["u5@contoso.com"]
    assert out.state.status is Status.WAITING_FOR_MIGRATION
    # the failed mailbox never syncs
    assert not of(out, "sync", mailbox="u5@contoso.com")


async def test_r_mbx_rerun_by_support_after_failure_then_s5_to_s6():
    sc = merge(base(users=users(4)), until="+3d",
               world={"tenant": {"licenses": {"SPB": 9}, "verified_domains": ["contoso.com"],
                                 "mailbox_create_fails": ["u4@contoso.com"]}},
               events=[{"at": "+0m", "action": "place"},
                       {"at": "+1d", "action": "rerun_ctp", "ctp": "Create Mailboxes",
                        "by": "partner"},
                       {"at": "+1d", "action": "remove_user", "address": "u4@contoso.com"},
                       {"at": "+1d", "action": "rerun_ctp", "ctp": "Create Mailboxes",
                        "by": "support"}])
    out = await run(sc)
    refused, _, accepted = of(out, "action")[1:]
    assert refused["accepted"] is False and "support" in refused["error"]
    assert accepted["accepted"] is True
    resolved = first(out, "task", code="create_mailboxes_failed", state="resolved")
    assert resolved["by"] == "support"
    assert ctp_states(out, S.CREATE_MAILBOXES.value) == ["running", "failed", "running",
                                                         "completed"]
    assert first(out, "status", status=Status.WAITING_FOR_MIGRATION.value)["at"] == \
        "2026-12-02T09:00:00Z"


async def test_r_mbx_rerun_in_s6_for_an_added_user_keeps_the_status():
    sc = merge(base(), until="+3d", events=[
        {"at": "+0m", "action": "place"},
        {"at": "+1d", "action": "add_user", "user": users(1, start=7)[0]}])
    out = await run(sc)
    runs = of(out, "ctp", ctp=S.CREATE_MAILBOXES.value, state="completed")
    assert len(runs) == 2 and runs[1]["at"] == "2026-12-02T09:00:00Z"
    assert statuses(out).count(Status.WAITING_FOR_MIGRATION.value) == 1
    assert out.state.status is Status.WAITING_FOR_MIGRATION
    assert out.world.mailboxes["u7@contoso.com"] == "vanity"
    assert [e["pass"] for e in of(out, "sync", mailbox="u7@contoso.com", state="completed")] \
        == ["initial"]


async def test_post_create_ctps_run_concurrently_after_create_mailboxes():
    out = await run(merge(base(), until="+1d"))
    done = out.lines.index(first(out, "ctp", ctp=S.CREATE_MAILBOXES.value, state="completed"))
    for ctp in (S.CONTACT_ALIASES, S.SHARED_ALIASES, S.DISTRIBUTION_GROUPS,
                S.MAIL_FLOW_MAILBOX):
        assert ctp_states(out, ctp.value) == ["running", "completed"]
        assert out.lines.index(first(out, "ctp", ctp=ctp.value, state="running")) > done
    assert {"contact_aliases", "shared_mailbox_aliases", "distribution_groups",
            "mail_flow_mailbox"} <= set(out.world.steps)
