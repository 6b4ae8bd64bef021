"""Per-mailbox sync passes (SPEC.md "Sync passes", S8/S9): the chain of one mailbox.

initial -> (resyncs) -> final -> delta -> sweep every 24 h until cutover + 4 d.
One pass at a time per mailbox; a failed pass ends that pass and the chain goes on
(every pass is incremental, so the next one catches up).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import datetime

from .names import SyncPass
from .rules import Timings, next_sweep

# Shards. One order's mailboxes are split over several syncs workflows ("shards"), each
# with its own window of running passes, so that no workflow task has much to do:
# - Temporal fails a workflow task (WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND) when
#   more than 100 events arrive while it runs (the server's maximumBufferedEventsBatch);
#   every pass that ends adds two (activity started and completed), so a shard never has
#   more than MAX_SHARD_WINDOW passes running, and passes that end together (empty
#   mailboxes, no-change sweeps) cannot overflow it;
# - what crosses continue-as-new is one shard's mailboxes, at most about `shard_size`.
MAX_SHARD_WINDOW = 40


def shard_count(mailboxes: int, window: int, shard_size: int) -> int:
    """How many shards an order's syncs get (decided once, when its syncs start): enough
    for `shard_size` mailboxes each, and for `window` passes at once in all."""
    return max(1, math.ceil(mailboxes / max(1, shard_size)),
               math.ceil(min(window, mailboxes) / MAX_SHARD_WINDOW))


def shard_window(window: int, shards: int) -> int:
    """Passes one shard runs at once: its part of the order's window."""
    return max(1, min(MAX_SHARD_WINDOW, math.ceil(window / shards)))


def shard_of(address: str, shards: int) -> int:
    """The shard of a mailbox: stable across runs, workers and Python versions."""
    return zlib.crc32(address.encode()) % shards if shards > 1 else 0


def split(mailboxes: list[str], sources: list[str], shards: int
          ) -> list[tuple[list[str], list[str]]]:
    """Parallel (mailboxes, sources) lists, one pair per shard (`sources` may be empty:
    a command that names mailboxes only)."""
    parts: list[tuple[list[str], list[str]]] = [([], []) for _ in range(shards)]
    for i, a in enumerate(mailboxes):
        part = parts[shard_of(a, shards)]
        part[0].append(a)
        if sources:
            part[1].append(sources[i])
    return parts


@dataclass
class Box:
    """Sync state of one mailbox, kept small: 10,000 of these cross continue-as-new."""

    a: str  # target mailbox address
    src: str  # source address
    q: list[SyncPass] = field(default_factory=list)  # queued passes, in order
    run: SyncPass | None = None  # running pass
    init: bool = False  # initial pass ended (completed or failed)
    post: bool = False  # final queued: the post-cutover chain has begun
    sweep_at: datetime | None = None  # next sweep
    done: bool = False  # the post-cutover chain is over
    removed: bool = False
    failing: bool = False  # a pass failed and no later pass has completed yet
    rerun: bool = False  # the queued pass reruns one of a finished chain (support)
    grade: str = ""  # the last reconciliation's grade (R-RECONCILE)


def queue(box: Box, pass_name: SyncPass) -> bool:
    """Queue a pass unless the same one is queued or running; True if queued.
    (A command delivered twice, e.g. by a retried activity, queues nothing twice.)"""
    if box.removed or box.done or pass_name in box.q or box.run == pass_name:
        return False
    box.q.append(pass_name)
    return True


def rerun(box: Box, pass_name: SyncPass) -> bool:
    """rerun_sync: queue the pass again, even when the chain is over; True if queued."""
    if box.removed or pass_name in box.q or box.run == pass_name:
        return False
    box.rerun = box.done
    box.q.append(pass_name)
    return True


def cancel_queued(box: Box, names: tuple[SyncPass, ...]) -> list[SyncPass]:
    dropped = [p for p in box.q if p in names]
    box.q = [p for p in box.q if p not in names]
    return dropped


def begin_cutover(box: Box) -> list[SyncPass]:
    """MigrateEmail: queued resyncs give way to the final pass; returns cancelled ones."""
    if box.post:
        return []
    dropped = cancel_queued(box, (SyncPass.RESYNC,))
    box.post = True
    queue(box, SyncPass.FINAL)
    return dropped


def pass_ended(box: Box, pass_name: SyncPass, started: datetime, cutover: datetime | None,
               t: Timings) -> None:
    """Advance the chain after a pass ended (completed or failed)."""
    box.run = None
    if box.rerun:  # a finished chain stays finished
        box.rerun = False
        return
    if pass_name is SyncPass.INITIAL:
        box.init = True
    elif pass_name is SyncPass.FINAL:
        queue(box, SyncPass.DELTA)
    elif pass_name is SyncPass.DELTA:
        queue(box, SyncPass.SWEEP)
    elif pass_name is SyncPass.SWEEP:
        nxt = next_sweep(started, cutover, t) if cutover else None
        # to the second: passes that ended together sweep together (one timer)
        box.sweep_at = nxt.replace(microsecond=0) if nxt else None
        if nxt is None and not box.q:
            box.done = True


def settled(boxes: dict[str, Box], cutover_seen: bool) -> bool:
    """R-POC-DONE / R-COMPLETE-5D: every post-cutover pass of every mailbox has ended."""
    return cutover_seen and all((b.done and not b.q) or b.removed for b in boxes.values())
