"""The lifecycle's MailMover port over the sync engine.

One state dir (ledger) per order and mailbox, so every pass of a mailbox (initial,
resync, final, delta, sweep) is incremental from the last. The engine is
synchronous: it runs in a thread while this coroutine reports progress (the activity
heartbeats with it) and, when the activity is cancelled, stops the pass at its next
progress call. After a post-cutover pass it reconciles the mailbox (R-RECONCILE) from
the same ledger. A resumed pass (a later attempt) counts its earlier attempts' copies
from the ledger, so its progress and result are the whole pass's. A refused login is
permanent (SyncItemError); other faults are PassInterrupted (transient) and the next
attempt resumes without duplicates.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from mailflip.domain.names import POST_CUTOVER_PASSES
from mailflip.domain.reconcile import Reconciliation
from mailflip.errors import MailflipError, PassInterrupted, SyncItemError
from mailflip.mail.port import PassResult
from mailflip.sync.endpoints import Endpoint
from mailflip.sync.engine import PassFailed, run_pass
from mailflip.sync.ledger import Ledger
from mailflip.sync.limits import ConnectionLimiter
from mailflip.sync.options import PassOptions
from mailflip.sync.reconcile import reconcile_mailbox
from mailflip.sync.report import PassReport, Progress
from mailflip.sync.stores.base import StoreFatal, StoreFault

# (order id, target mailbox, source address) -> (source endpoint, target endpoint), or
# an awaitable of them (OrderEndpoints: credentials from the vault, a fresh token)
Ends = tuple[str | Endpoint, str | Endpoint]
Resolver = Callable[[str, str, str], Ends | Awaitable[Ends]]
T = TypeVar("T")
HEARTBEAT_EVERY_S = 1.0  # the activity's heartbeats are throttled by the SDK


def in_own_thread(fn: Callable[[], T], name: str) -> asyncio.Future[T]:
    """Run `fn` in a thread of its own. Not the loop's default executor: a pass holds its
    thread for as long as it runs (hours), and the default executor is small (CPUs + 4),
    so a few passes would take all its threads, and what they wait for on the loop (a
    login's token, asyncio.to_thread in msal) would queue behind them until they time out."""
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        if not done.set_running_or_notify_cancel():
            return
        try:
            done.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            done.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return asyncio.wrap_future(done)


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
                       progress: Callable[[dict[str, Any]], None],
                       report_subjects: bool = False,
                       resumed: bool = False) -> PassResult:
        ends = self.resolve(order_id, mailbox, source)
        src, dst = await ends if inspect.isawaitable(ends) else ends
        stop = threading.Event()
        latest: dict[str, Any] = {}
        earlier = (0, 0)  # what the pass's earlier attempts copied (messages, bytes)

        def on_progress(p: Progress) -> None:
            if stop.is_set():
                raise PassCancelled(f"{pass_name} pass of {mailbox} cancelled")
            latest.update(asdict(p))
            latest["messages_copied"] += earlier[0]
            latest["messages_to_copy"] += earlier[0]
            latest["bytes_copied"] += earlier[1]
            latest["bytes_to_copy"] += earlier[1]

        state = self.state_dir(order_id, mailbox)

        def copy_then_reconcile() -> tuple[PassReport, Reconciliation | None]:
            nonlocal earlier
            ledger = Ledger.open(state)
            try:
                earlier = ledger.mark_pass(pass_name, resumed)
                report = run_pass(src, dst, ledger, pass_name, self.options, on_progress,
                                  self.limiter)
                if pass_name not in POST_CUTOVER_PASSES:
                    return report, None
                try:
                    return report, reconcile_mailbox(src, dst, ledger, self.options,
                                                     report_subjects)
                except (StoreFault, StoreFatal) as exc:
                    raise PassFailed(f"{pass_name}: reconciliation: {exc}", report,
                                     retryable=isinstance(exc, StoreFault)) from exc
            finally:
                ledger.close()

        work = in_own_thread(copy_then_reconcile, f"pass {pass_name} {mailbox}")
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=HEARTBEAT_EVERY_S)
                progress(dict(latest))
            report, reconciliation = work.result()
        except asyncio.CancelledError:
            stop.set()
            await asyncio.gather(work, return_exceptions=True)
            raise
        except PassFailed as exc:
            if not exc.retryable:
                raise SyncItemError(f"{pass_name} pass of {mailbox}: {exc}") from exc
            raise PassInterrupted(f"{pass_name} pass of {mailbox}: {exc}") from exc
        return PassResult(messages=report.messages_copied + earlier[0],
                          bytes=report.bytes_copied + earlier[1],
                          folders=report.folders_seen, errors=len(report.item_errors),
                          detail={**report.to_dict(), "copied_by_earlier_attempts": earlier[0]},
                          reconciliation=reconciliation)
