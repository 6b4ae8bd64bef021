"""Activity options at a time scale (MAILFLIP_TIME_SCALE, dev only): what a killed worker
costs an order running 7200x is seconds, as its durations are; in production (factor 1)
every option is exactly the policy's, so histories replay unchanged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailflip.lifecycle.order import policies


@pytest.mark.parametrize("call", [policies.CTP_WORK, policies.MAILBOX_WORK, policies.DELIVERY,
                                  policies.SYNC_PASS, policies.SYNC_EVENTS,
                                  policies.polling(timedelta(minutes=15))])
def test_at_factor_one_the_options_are_the_policys_own(call) -> None:
    assert call.scaled(1) is call
    assert call.scaled(1.0).kwargs() == call.kwargs()


def test_a_scaled_call_times_out_and_retries_sooner_but_keeps_an_attempt_whole() -> None:
    fast = policies.CTP_WORK.scaled(7200).kwargs()
    assert fast["start_to_close_timeout"] == policies.FLOOR_ATTEMPT  # 30 min / 7200: floor
    assert fast["retry_policy"].initial_interval == policies.FLOOR_RETRY
    assert fast["retry_policy"].maximum_interval == policies.FLOOR_RETRY
    assert fast["schedule_to_close_timeout"] == timedelta(hours=6)  # the give-up bound stays
    assert fast["retry_policy"].non_retryable_error_types == \
        policies.CTP_WORK.retry.non_retryable_error_types
    delivery = policies.DELIVERY.scaled(12).kwargs()
    assert delivery["heartbeat_timeout"] == timedelta(seconds=10)  # 2 min / 12
    assert delivery["start_to_close_timeout"] == timedelta(seconds=25)  # 5 min / 12


def test_a_polls_interval_is_a_lifecycle_timing_scaled_once_not_twice() -> None:
    interval = timedelta(minutes=15) / 60  # R-CTP-S4's, already scaled by Timings
    poll = policies.polling(interval).scaled(60).kwargs()
    assert poll["retry_policy"].initial_interval == interval
    assert poll["start_to_close_timeout"] == policies.FLOOR_ATTEMPT  # 2 min / 60
