"""No-change pass speed, bounded memory, connection limits."""

from __future__ import annotations

import threading

import pytest

from mailflip.sync import ConnectionLimiter, PassOptions, run_pass
from mailflip.sync.stores.base import StoreFault
from mailflip.sync.throttle import Backoff
from tests.sync.mail import make_msg


def _fill_maildir(dovecot, user: str, per_folder: dict[str, int]) -> None:
    import os

    root = dovecot.maildir(user)
    n = 0
    for folder, count in per_folder.items():
        d = root if folder == "INBOX" else root / f".{folder}"
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            m = make_msg(n, size=300, tag="scale")
            path = d / "cur" / f"{1_700_000_000 + n}.M{n}P9.scale:2,S"
            path.write_bytes(m.body.replace(b"\r\n", b"\n"))
            os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))
            n += 1
    dovecot.chown_mail(user)


@pytest.mark.slow
def test_no_change_pass_over_5000_messages_copies_nothing(dovecot, account, state_dir):
    # Its speed (well under a second) is measured by bench/sync_vs_mbsync.sh, not here.
    src, dst = account("src"), account("dst")
    _fill_maildir(dovecot, src, {f"F{i}" if i else "INBOX": 500 for i in range(10)})
    first = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert first.messages_copied == 5000
    again = run_pass(dovecot.url(src), dovecot.url(dst), state_dir)
    assert again.messages_copied == 0 and again.messages_seen == 5000
    assert again.complete and not again.item_errors


def test_limiter_never_exceeds_global_or_per_host_caps():
    limiter = ConnectionLimiter(6, 3)
    held: list[list[str]] = []
    assert limiter.try_acquire(["a", "b"], blocking=False)
    assert limiter.try_acquire(["a", "b"], blocking=False)
    assert limiter.try_acquire(["a", "b"], blocking=False)
    assert not limiter.try_acquire(["a", "c"], blocking=False)  # host a is full
    released = threading.Event()

    def later() -> None:
        limiter.try_acquire(["c", "c"], blocking=True)
        held.append(["c", "c"])
        released.set()

    t = threading.Thread(target=later)
    t.start()
    assert not released.is_set() or limiter.peak <= 6
    limiter.release(["a", "b"])
    t.join(5)
    assert held == [["c", "c"]] and limiter.peak <= 6


def test_backoff_waits_at_least_the_suggested_time_and_adapts():
    now = [0.0]
    slept: list[float] = []
    backoff = Backoff(0.1, 60, sleep=lambda s: slept.append(s), clock=lambda: now[0])
    backoff.fault(StoreFault("throttled", delay_s=2.5, throttled=True), attempt=1)
    backoff.wait()
    assert slept[-1] >= 2.5
    assert backoff.spacing_s > 0  # throttled: commands are spaced out ...
    for _ in range(100):
        backoff.success()
    assert backoff.spacing_s == 0  # ... and the rate recovers additively


def test_options_bound_the_bytes_held_per_batch():
    from mailflip.sync.context import chunked
    from mailflip.sync.stores.base import MessageMeta

    metas = [
        MessageMeta(i, 3_000_000 if i % 5 == 0 else 1000, None, frozenset(), None)
        for i in range(1, 60)
    ]
    chunks = chunked(metas, 200, 4_000_000)
    assert all(sum(m.size for m in c) <= 4_000_000 or len(c) == 1 for c in chunks)
    assert [m.uid for c in chunks for m in c] == list(range(1, 60))
    assert PassOptions().batch_bytes <= 32 * 1024 * 1024


def test_heap_limits_take_on_glibc():
    import platform

    from mailflip.sync.heap import limit_heap_growth

    took = limit_heap_growth()
    if platform.libc_ver()[0] == "glibc":
        assert took is True
    assert limit_heap_growth() is took  # once per process
