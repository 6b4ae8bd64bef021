"""Timeouts and retry policies of the order's activities (explicit, per kind of work)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

from mailflip.errors import CredentialsInvalid, InvalidInput, SyncItemError


@dataclass(frozen=True)
class Call:
    start_to_close: timedelta
    schedule_to_close: timedelta
    retry: RetryPolicy
    heartbeat: timedelta | None = None

    def kwargs(self) -> dict:
        kw = dict(start_to_close_timeout=self.start_to_close,
                  schedule_to_close_timeout=self.schedule_to_close, retry_policy=self.retry)
        if self.heartbeat:
            kw["heartbeat_timeout"] = self.heartbeat
        return kw


PERMANENT = [CredentialsInvalid.__name__, InvalidInput.__name__, SyncItemError.__name__]

# Tenant/DNS/agent work of a CTP: ~2.5 h of retries, then the CTP fails (alert ctp_failed).
CTP_WORK = Call(
    start_to_close=timedelta(minutes=30),
    schedule_to_close=timedelta(hours=6),
    retry=RetryPolicy(initial_interval=timedelta(minutes=1), backoff_coefficient=2.0,
                      maximum_interval=timedelta(minutes=10), maximum_attempts=20,
                      non_retryable_error_types=PERMANENT),
)


def polling(interval: timedelta) -> Call:
    """R-CTP-S4: the retry policy is the poll loop (every `interval`, until verified)."""
    return Call(
        start_to_close=timedelta(minutes=2),
        schedule_to_close=timedelta(days=365),
        retry=RetryPolicy(initial_interval=interval, backoff_coefficient=1.0,
                          # an adapter's "ask again in N" (next_retry_delay) is not cut short
                      maximum_interval=max(interval, timedelta(days=1)),
                          maximum_attempts=0, non_retryable_error_types=PERMANENT),
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


# One sync pass of one mailbox: long, heartbeating, resumable; retried until it ends.
SYNC_PASS = Call(
    start_to_close=timedelta(hours=12),
    schedule_to_close=timedelta(days=3),
    retry=RetryPolicy(initial_interval=timedelta(seconds=30), backoff_coefficient=2.0,
                      maximum_interval=timedelta(minutes=10), maximum_attempts=0,
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
