"""Live order pages: one watcher per portal process looks at the store for every order
that has an open page (one query for all of them, `store.live_markers`, every
`every_s`), and wakes that order's streams when something changed. A stream then
renders, once per change and shared by all streams of the order; between changes a
stream costs nothing. The worker that changed the order may be another process (the
store is the only thing the two share), hence the looking."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class _Watched:
    streams: int = 0
    marker: tuple[object, ...] = ()
    version: int = 0
    woken_at: float = float("-inf")
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class LiveHub:
    def __init__(self, markers: Callable[[list[str]], dict[str, tuple[object, ...]]],
                 every_s: float, gap_s: float = 1.0) -> None:
        """`markers(order_ids)`: per order, a value that changes whenever its page would
        (one call for all the watched orders). A change wakes the order's streams at the
        next look; an order that keeps changing (a pass's progress) wakes them at most
        once per `gap_s`, so its page is rendered at most that often."""
        self.markers, self.every_s, self.gap_s = markers, every_s, gap_s
        self._orders: dict[str, _Watched] = {}
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def watching(self, order_id: str) -> Iterator[None]:
        """While a stream of `order_id` is open."""
        w = self._orders.setdefault(order_id, _Watched())
        w.streams += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._look())
        try:
            yield
        finally:
            w.streams -= 1
            if w.streams == 0:
                self._orders.pop(order_id, None)

    def version(self, order_id: str) -> int:
        w = self._orders.get(order_id)
        return w.version if w is not None else 0

    async def changed(self, order_id: str, seen: int, timeout_s: float) -> int:
        """The order's version once it is past `seen`, or after `timeout_s` as it is."""
        w = self._orders.get(order_id)
        if w is None or w.version != seen:
            return w.version if w is not None else seen
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(w.changed.wait(), timeout_s)
        return w.version

    async def _look(self) -> None:
        loop = asyncio.get_running_loop()
        while self._orders:
            markers = self.markers(list(self._orders))
            now = loop.time()
            for order_id, w in list(self._orders.items()):
                marker = markers.get(order_id, ())
                if marker != w.marker and now - w.woken_at >= self.gap_s:
                    w.marker, w.woken_at = marker, now
                    w.version += 1
                    w.changed.set()  # wakes every stream waiting on this order
                    w.changed = asyncio.Event()
            await asyncio.sleep(self.every_s)  # the next look at the store
