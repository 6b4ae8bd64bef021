"""Timeouts and retry policies of the order's activities (explicit, per kind of work)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from temporalio.common import RetryPolicy

from mailflip.errors import CredentialsInvalid, InvalidInput, SyncItemError


@dataclass(frozen=True)
class Call:
    start_to_close: timedelta
    schedule_to_close: timedelta | None
    retry: RetryPolicy
    heartbeat: timedelta | None = None
    retry_scales: bool = True  # False: the retry intervals are lifecycle timings, scaled

    def scaled(self, factor: float) -> Call:
        """MAILFLIP_TIME_SCALE (dev only): the timeouts and the retry intervals divided
        by `factor` as the lifecycle's durations are, so that a worker killed at 7200x is
        noticed in seconds, not in the 30 real minutes a CTP's attempt may take; floors
        keep an honest activity's attempt whole. `schedule_to_close`, the give-up bound,
        stays. Factor 1 is this call, unchanged (production, replays)."""
        if factor == 1:
            return self

        def cut(d: timedelta, floor: timedelta) -> timedelta:
            return max(d / factor, floor)

        policy = self.retry
        if self.retry_scales:
            policy = replace(policy, initial_interval=cut(policy.initial_interval, FLOOR_RETRY),
                             maximum_interval=cut(policy.maximum_interval or
                                                  policy.initial_interval * 100, FLOOR_RETRY))
        return replace(self, start_to_close=cut(self.start_to_close, FLOOR_ATTEMPT),
                       heartbeat=cut(self.heartbeat, FLOOR_HEARTBEAT) if self.heartbeat
                       else None, retry=policy)

    def kwargs(self, heartbeat: timedelta | None = None) -> dict:
        """heartbeat: this call's heartbeat timeout instead of the policy's."""
        kw: dict = dict(start_to_close_timeout=self.start_to_close, retry_policy=self.retry)
        if self.schedule_to_close:
            kw["schedule_to_close_timeout"] = self.schedule_to_close
        if heartbeat or self.heartbeat:
            kw["heartbeat_timeout"] = heartbeat or self.heartbeat
        return kw


# the least a scaled call keeps (Call.scaled)
FLOOR_ATTEMPT = timedelta(seconds=20)
FLOOR_HEARTBEAT = timedelta(seconds=5)
FLOOR_RETRY = timedelta(seconds=1)

PERMANENT = [CredentialsInvalid.__name__, InvalidInput.__name__, SyncItemError.__name__]

# Tenant/DNS/agent work of a CTP: ~2.5 h of retries, then the CTP fails (alert ctp_failed).
CTP_WORK = Call(
    start_to_close=timedelta(minutes=30),
    schedule_to_close=timedelta(hours=6),
    retry=RetryPolicy(initial_interval=timedelta(minutes=1), backoff_coefficient=2.0,
                      maximum_interval=timedelta(minutes=10), maximum_attempts=20,
                      non_retryable_error_types=PERMANENT),
)

# Creating mailboxes: licensed mailboxes take minutes to provision (sometimes hours), each
# "not yet" a benign retry after the tenant's delay; bounded by time, not by attempts.
MAILBOX_WORK = replace(CTP_WORK, retry=replace(CTP_WORK.retry, maximum_attempts=0))


def polling(interval: timedelta) -> Call:
    """R-CTP-S4: the retry policy is the poll loop (every `interval`, until verified)."""
    return Call(
        start_to_close=timedelta(minutes=2),
        schedule_to_close=timedelta(days=365),
        retry=RetryPolicy(initial_interval=interval, backoff_coefficient=1.0,
                          # an adapter's "ask again in N" (next_retry_delay) is not cut short
                      maximum_interval=max(interval, timedelta(days=1)),
                          maximum_attempts=0, non_retryable_error_types=PERMANENT),
        retry_scales=False,  # `interval` is R-CTP-S4's, scaled with the other timings
    )


# Emails and the store mirror must happen: keep trying for a day.
DELIVERY = Call(
    start_to_close=timedelta(minutes=5),
    schedule_to_close=timedelta(days=1),
    retry=RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2.0,
                      maximum_interval=timedelta(minutes=10), maximum_attempts=0,
                      non_retryable_error_types=PERMANENT),
    heartbeat=timedelta(minutes=2),
)


# One sync pass of one mailbox (R-PASS-LONG): it takes as long as the mail takes, so no
# limit cuts it off; the heartbeat timeout finds a dead worker and the pass resumes on
# another. R-PASS-RETRY: transient errors back off 30 s doubling to 30 min; giving up
# after pass_give_up is the pass's own decision (a permanent error ends it at once).
SYNC_PASS = Call(
    start_to_close=timedelta(days=365),
    schedule_to_close=None,
    retry=RetryPolicy(initial_interval=timedelta(seconds=30), backoff_coefficient=2.0,
                      maximum_interval=timedelta(minutes=30), maximum_attempts=0,
                      non_retryable_error_types=[SyncItemError.__name__,
                                                 InvalidInput.__name__]),
    heartbeat=timedelta(minutes=5),
)

# The syncs workflow's timeline writes: retried for a day, no error is permanent.
SYNC_EVENTS = Call(
    start_to_close=timedelta(minutes=5),
    schedule_to_close=timedelta(days=1),
    retry=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=0,
                      maximum_interval=timedelta(minutes=10)),
)
