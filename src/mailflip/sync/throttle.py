"""Per-mailbox adaptive backoff (AIMD on the pause between commands)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from mailflip.sync.stores.base import StoreFault


class Backoff:
    """Shared by every connection of one mailbox side.

    A fault pauses all of them until `pause_until` (at least the server's
    suggested time); a throttle also doubles the spacing between commands,
    which shrinks additively with every success.
    """

    def __init__(
        self,
        base_s: float,
        cap_s: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_s, self.cap_s = base_s, cap_s
        self._sleep, self._clock = sleep, clock
        self._lock = threading.Lock()
        self.pause_until = 0.0
        self.spacing_s = 0.0
        self.waited_s = 0.0

    def wait(self) -> None:
        with self._lock:
            delay = max(self.pause_until - self._clock(), 0.0) + self.spacing_s
        if delay > 0:
            self.waited_s += delay
            self._sleep(delay)

    def fault(self, fault: StoreFault, attempt: int) -> float:
        """Note a fault; returns how long the mailbox now pauses."""
        exponential = min(self.cap_s, self.base_s * (2 ** max(attempt - 1, 0)))
        floor = fault.delay_s if fault.delay_s is not None else exponential
        # Jitter only ever adds: a suggested backoff is a minimum.
        delay = max(floor, exponential if fault.delay_s is None else 0.0) * (
            1 + random.uniform(0, 0.1)
        )
        with self._lock:
            self.pause_until = max(self.pause_until, self._clock() + delay)
            if fault.throttled:
                self.spacing_s = min(self.cap_s, max(self.spacing_s * 2, 0.05))
        return delay

    def success(self) -> None:
        if self.spacing_s:
            with self._lock:
                self.spacing_s = max(0.0, self.spacing_s - 0.01)
