"""Throttling (M365.md §6): every Nth request, and a per app+tenant token bucket of
directory resource units with Graph's per-path costs. Both on the injected clock."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mailflip.tenant.simulator.config import Clock, Knobs


def directory_cost(method: str, path: str, query: dict[str, str]) -> int:
    """Resource units of one directory request: GET users 2, GET subscribedSkus 3, other
    reads 1, any write 1; `$select` saves one, `$expand` costs one more."""
    if method != "GET":
        return 1
    first = path.strip("/").split("/", 1)[0]
    cost = {"users": 2, "subscribedSkus": 3}.get(first, 1)
    if "$select" in query:
        cost -= 1
    if "$expand" in query:
        cost += 1
    return max(cost, 1)


@dataclass
class TokenBucket:
    """`capacity` units, refilled at `rate` per second on `clock`; full at first."""

    capacity: float
    rate: float
    clock: Clock
    level: float = -1.0
    at: float = 0.0

    def take(self, cost: float) -> float | None:
        """None when `cost` units were there (and are now spent); else the seconds until
        they will be."""
        now = self.clock()
        if self.level < 0:
            self.level, self.at = self.capacity, now
        self.level = min(self.capacity, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level >= cost:
            self.level -= cost
            return None
        return (cost - self.level) / self.rate


class Throttle:
    def __init__(self, knobs: Knobs, clock: Clock) -> None:
        self._knobs = knobs
        self._clock = clock
        self._count = 0
        self._throttled = 0
        self._buckets: dict[str, TokenBucket] = {}

    def admit(self, key: str, cost: int) -> dict[str, str] | None:
        """None when the request may go on; else the headers of its 429."""
        self._count += 1
        wait = self._every_nth() or self._bucket(key, cost)
        if wait is None:
            return None
        self._throttled += 1
        every = self._knobs.retry_after_missing_every
        if every and self._throttled % every == 0:
            return {}  # Graph leaves Retry-After out now and then: back off on your own
        return {"Retry-After": str(wait)}

    def _every_nth(self) -> int | None:
        every = self._knobs.throttle_every
        if every and self._count % every == 0:
            return self._knobs.retry_after_s
        return None

    def _bucket(self, key: str, cost: int) -> int | None:
        capacity, rate = self._knobs.bucket_capacity, self._knobs.bucket_refill_per_s
        if capacity <= 0 or rate <= 0:
            return None
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(capacity, rate, self._clock)
        wait = bucket.take(cost)
        return None if wait is None else max(1, math.ceil(wait))
