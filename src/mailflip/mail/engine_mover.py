"""The lifecycle's MailMover port over the sync engine.

One state dir (ledger) per order and mailbox, so every pass of a mailbox (initial,
resync, final, delta, sweep) is incremental from the last. The engine is
synchronous: it runs in a thread while this coroutine reports progress (the activity
heartbeats with it) and, when the activity is cancelled, stops the pass at its next
progress call. A refused login is permanent (SyncItemError); other faults are
PassInterrupted (transient) and the next attempt resumes without duplicates.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mailflip.errors import MailflipError, PassInterrupted, SyncItemError
from mailflip.mail.port import PassResult
from mailflip.sync.endpoints import Endpoint
from mailflip.sync.engine import PassFailed, run_pass
from mailflip.sync.limits import ConnectionLimiter
from mailflip.sync.options import PassOptions
from mailflip.sync.report import Progress

# (order id, target mailbox, source address) -> (source endpoint, target endpoint)
Resolver = Callable[[str, str, str], tuple[str | Endpoint, str | Endpoint]]
HEARTBEAT_EVERY_S = 10.0


class PassCancelled(MailflipError):
    """The activity running the pass was cancelled."""


class EngineMover:
    def __init__(self, resolve: Resolver, state_root: Path, options: PassOptions | None = None,
                 limiter: ConnectionLimiter | None = None) -> None:
        self.resolve = resolve
        self.state_root = state_root
        self.options = options or PassOptions()
        self.limiter = limiter

    def state_dir(self, order_id: str, mailbox: str) -> Path:
        return self.state_root / order_id / mailbox

    async def run_pass(self, order_id: str, mailbox: str, source: str, pass_name: str,
                       progress: Callable[[dict[str, Any]], None]) -> PassResult:
        src, dst = self.resolve(order_id, mailbox, source)
        stop = threading.Event()
        latest: dict[str, Any] = {}

        def on_progress(p: Progress) -> None:
            if stop.is_set():
                raise PassCancelled(f"{pass_name} pass of {mailbox} cancelled")
            latest.update(asdict(p))

        work = asyncio.ensure_future(asyncio.to_thread(
            run_pass, src, dst, self.state_dir(order_id, mailbox), pass_name, self.options,
            on_progress, self.limiter))
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=HEARTBEAT_EVERY_S)
                progress(dict(latest))
            report = work.result()
        except asyncio.CancelledError:
            stop.set()
            await asyncio.gather(work, return_exceptions=True)
            raise
        except PassFailed as exc:
            if not exc.retryable:
                raise SyncItemError(f"{pass_name} pass of {mailbox}: {exc}") from exc
            raise PassInterrupted(f"{pass_name} pass of {mailbox}: {exc}") from exc
        return PassResult(messages=report.messages_copied, bytes=report.bytes_copied,
                          folders=report.folders_seen, errors=len(report.item_errors),
                          detail=report.to_dict())
