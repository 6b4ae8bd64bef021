"""Pure rules of SPEC.md, no Temporal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mailflip.domain.rules import (
    Timings,
    create_mailboxes_fails,
    in_lock_window,
    mx_points_to_m365,
    next_sweep,
    resync_times,
)

C = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
D = timedelta(days=1)


def test_r_resync_stacking_40_days_gets_three():
    assert resync_times(C, C - 40 * D) == [C - 20 * D, C - 10 * D, C - timedelta(hours=42)]


def test_r_resync_stacking_20_to_39_days_gets_two():
    for lead in (20 * D, 39 * D + timedelta(hours=23)):
        assert resync_times(C, C - lead) == [C - 10 * D, C - timedelta(hours=42)]


def test_r_resync_stacking_7_to_19_days_gets_one():
    for lead in (7 * D, 19 * D):
        assert resync_times(C, C - lead) == [C - timedelta(hours=42)]


def test_r_resync_under_7_days_gets_none():
    assert resync_times(C, C - 7 * D + timedelta(minutes=1)) == []


def test_r_resync_lead_is_rounded_to_the_minute():
    assert len(resync_times(C, C - 40 * D + timedelta(milliseconds=30))) == 3


@given(st.integers(min_value=0, max_value=80 * 24 * 60))
def test_r_resync_count_grows_with_lead_and_all_fall_before_cutover(minutes):
    now = C - timedelta(minutes=minutes)
    times = resync_times(C, now)
    assert times == sorted(times) and all(now <= t < C for t in times)
    assert len(times) == sum(timedelta(minutes=minutes) >= d for d in (7 * D, 20 * D, 40 * D))


def test_r_mbx_25_exactly_25_percent_fails():
    assert create_mailboxes_fails(1, 4)
    assert create_mailboxes_fails(25, 100)


def test_r_mbx_25_below_25_percent_completes():
    assert not create_mailboxes_fails(24, 100)
    assert not create_mailboxes_fails(1, 5)
    assert not create_mailboxes_fails(0, 0)


@given(st.integers(0, 1000), st.integers(1, 1000))
def test_r_mbx_25_matches_the_fraction(failed, total):
    failed = min(failed, total)
    assert create_mailboxes_fails(failed, total) == (failed / total >= 0.25)


def test_r_lock_4h_window_starts_four_hours_before_cutover():
    t = Timings()
    assert not in_lock_window(C, C - timedelta(hours=4, seconds=1), t)
    assert in_lock_window(C, C - timedelta(hours=4), t)
    assert in_lock_window(C, C + D, t)


def test_r_ctp_s7_mx_points_to_m365_classic_and_new_hosts():
    assert mx_points_to_m365("contoso.com", ["contoso-com.mail.protection.outlook.com."])
    assert mx_points_to_m365("contoso.com", ["contoso-com.l-v1.mx.microsoft"])
    assert not mx_points_to_m365("contoso.com", ["mx1.contoso.com"])
    assert not mx_points_to_m365("contoso.com", ["fabrikam-com.mail.protection.outlook.com"])
    assert not mx_points_to_m365("contoso.com", [])


def test_sweeps_repeat_every_24h_until_cutover_plus_4_days():
    t = Timings()
    first = C + timedelta(hours=1, minutes=10)
    starts = [first]
    while (nxt := next_sweep(starts[-1], C, t)) is not None:
        starts.append(nxt)
    assert starts == [first + i * D for i in range(4)]
