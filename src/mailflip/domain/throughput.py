"""An order's copy throughput over time, for the portal's chart: each sync pass's
messages and bytes spread evenly over its span (started to ended, or to its last
progress write while running), summed into equal time buckets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    messages: int
    bytes: int


def throughput(spans: Iterable[Span], buckets: int = 60) -> list[dict[str, float | str]]:
    """[{at (bucket start, ISO), messages_per_min, mb_per_min}], oldest first; empty
    with no pass. Zero-length spans count at their instant."""
    items = [s for s in spans if s.messages or s.bytes]
    if not items:
        return []
    lo = min(s.start for s in items)
    hi = max(s.end for s in items)
    width = max((hi - lo) / buckets, timedelta(seconds=1))
    n = max(1, min(buckets, int((hi - lo) / width) + 1))
    msgs, size = [0.0] * n, [0.0] * n
    for s in items:
        length = (s.end - s.start).total_seconds()
        first = min(n - 1, int((s.start - lo) / width))
        last = min(n - 1, int((s.end - lo) / width))
        for b in range(first, last + 1):
            b_lo = lo + width * b
            b_hi = b_lo + width
            share = 1.0 if length <= 0 else max(0.0, (min(s.end, b_hi) - max(s.start, b_lo))
                                                 .total_seconds()) / length
            msgs[b] += s.messages * share
            size[b] += s.bytes * share
    per_min = 60 / width.total_seconds()
    return [{"at": (lo + width * b).isoformat().replace("+00:00", "Z"),
             "messages_per_min": round(msgs[b] * per_min, 2),
             "mb_per_min": round(size[b] * per_min / 1e6, 3)} for b in range(n)]
