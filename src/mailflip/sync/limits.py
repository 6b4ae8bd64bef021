"""Connection limits shared by concurrent passes: one global cap, one per host."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from mailflip.errors import InvalidInput


class ConnectionLimiter:
    """Grants are taken atomically for every host a worker talks to, so two
    passes can never each hold half of what they need (no deadlock)."""

    def __init__(self, global_limit: int, per_host: int) -> None:
        if global_limit < 2:
            raise InvalidInput("max_connections", "must be at least 2 (one source + one target)")
        if per_host < 1:
            raise InvalidInput("per_host_connections", "must be at least 1")
        self.global_limit, self.per_host = global_limit, per_host
        self._cond = threading.Condition()
        self._used = 0
        self._by_host: Counter[str] = Counter()
        self.peak = 0

    def _fits(self, hosts: Counter[str]) -> bool:
        total = sum(hosts.values())
        return self._used + total <= self.global_limit and all(
            self._by_host[h] + n <= self.per_host for h, n in hosts.items() if h != "local"
        )

    def try_acquire(self, hosts: list[str], blocking: bool) -> bool:
        need = Counter(hosts)
        worst = max((n for h, n in need.items() if h != "local"), default=0)
        if sum(need.values()) > self.global_limit or worst > self.per_host:
            raise InvalidInput(
                "max_connections",
                f"one pass needs {dict(need)}; the limits are "
                f"{self.global_limit} total, {self.per_host} per host",
            )
        with self._cond:
            if blocking:
                self._cond.wait_for(lambda: self._fits(need))
            elif not self._fits(need):
                return False
            self._used += sum(need.values())
            self._by_host.update(need)
            self.peak = max(self.peak, self._used)
            return True

    def release(self, hosts: list[str]) -> None:
        with self._cond:
            need = Counter(hosts)
            self._used -= sum(need.values())
            self._by_host.subtract(need)
            self._cond.notify_all()

    @contextmanager
    def hold(self, hosts: list[str]) -> Iterator[None]:
        self.try_acquire(hosts, blocking=True)
        try:
            yield
        finally:
            self.release(hosts)
