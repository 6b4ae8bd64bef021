"""run_pass: one incremental, crash-safe copy of a mailbox (see package docstring)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mailflip.errors import MailflipError
from mailflip.sync.context import FolderWork, PassContext
from mailflip.sync.copier import copy_chunk
from mailflip.sync.endpoints import Endpoint, parse_endpoint
from mailflip.sync.folders import map_folders
from mailflip.sync.heap import limit_heap_growth
from mailflip.sync.ledger import FolderRow, Ledger
from mailflip.sync.limits import ConnectionLimiter
from mailflip.sync.options import PassOptions
from mailflip.sync.plan import plan_folder
from mailflip.sync.report import ItemError, PassReport, Progress
from mailflip.sync.session import FolderChanged, Link
from mailflip.sync.stores.base import MessageMeta, StoreFatal, StoreFault, StoreRefused
from mailflip.sync.throttle import Backoff

ProgressCallback = Callable[[Progress], None]
_Job = tuple[FolderWork, list[MessageMeta]] | None  # None: planning is over, stop


class _Aborted(Exception):
    """A worker failed while the planner waited for room in the queue."""


class PassFailed(MailflipError):
    """The pass stopped (connection lost for good, auth refused); `report` says how far it got.
    Running the same pass again resumes without duplicates."""

    def __init__(self, message: str, report: PassReport, retryable: bool = True) -> None:
        super().__init__(message)
        self.report = report
        self.retryable = retryable


def _endpoint(value: str | Endpoint, field: str) -> Endpoint:
    return value if isinstance(value, Endpoint) else parse_endpoint(value, field)


def run_pass(
    source: str | Endpoint,
    target: str | Endpoint,
    state: str | Path | Ledger,
    pass_name: str = "pass",
    options: PassOptions | None = None,
    progress_cb: ProgressCallback | None = None,
    limiter: ConnectionLimiter | None = None,
) -> PassReport:
    opts = options or PassOptions()
    limit_heap_growth()
    src_ep, tgt_ep = _endpoint(source, "source"), _endpoint(target, "target")
    ledger = state if isinstance(state, Ledger) else Ledger.open(state)
    report = PassReport(
        pass_name,
        src_ep.display,
        tgt_ep.display,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    ctx = PassContext(
        src_ep,
        tgt_ep,
        opts,
        ledger,
        report,
        Backoff(opts.backoff_base_s, opts.backoff_cap_s),
        Backoff(opts.backoff_base_s, opts.backoff_cap_s),
    )
    hosts = [src_ep.host_key, tgt_ep.host_key] * 2  # control links + first worker
    limiter = limiter or ConnectionLimiter(4 + 2 * opts.connections, 2 * opts.connections + 4)
    started = time.monotonic()
    try:
        with limiter.hold(hosts):
            _Pass(ctx, limiter, progress_cb).run()
    except PassFailed:
        raise
    except (StoreFault, StoreFatal) as exc:
        report.finish(time.monotonic() - started)
        raise PassFailed(
            f"{pass_name}: {exc}", report, retryable=isinstance(exc, StoreFault)
        ) from exc
    finally:
        if not isinstance(state, Ledger):
            ledger.close()
    report.finish(time.monotonic() - started)
    return report


class _Pass:
    def __init__(
        self, ctx: PassContext, limiter: ConnectionLimiter, progress_cb: ProgressCallback | None
    ) -> None:
        self.ctx, self.limiter, self.progress_cb = ctx, limiter, progress_cb
        # Bounded: planning stays a few chunks ahead of the copy, so what is held in
        # memory depends on batch size and connections, not on the mailbox size.
        self.jobs: queue.Queue[_Job] = queue.Queue(maxsize=2 * ctx.options.connections)
        self.abort = threading.Event()
        self.failure: BaseException | None = None
        self.works: list[FolderWork] = []
        self.folder, self.folders_done, self.folders_total = "", 0, 0
        self.to_copy = self.bytes_to_copy = 0
        self.last_tick = 0.0

    def run(self) -> None:
        ctx = self.ctx
        src, tgt = ctx.link("source"), ctx.link("target")
        workers: list[threading.Thread] = []
        try:
            rows = map_folders(ctx, src, tgt)
            self.folders_total = len(rows)
            for i in range(ctx.options.connections):
                worker = threading.Thread(
                    target=self._worker, args=(i,), name=f"sync-worker-{i}", daemon=True
                )
                worker.start()
                workers.append(worker)
            for row in rows:
                if self.abort.is_set():
                    break
                self.folder = row.src_folder
                self._plan(src, tgt, row)
                self.folders_done += 1
                self._tick()
            for _ in workers:  # each worker ends on one, at once rather than at a poll
                if not self._put(None):
                    break  # aborted: the workers stop on their own
            for worker in workers:
                while worker.is_alive():
                    worker.join(ctx.options.progress_interval_s)
                    self._tick()  # may raise: the caller cancels the pass from progress_cb
        except BaseException:
            self.abort.set()
            for _ in workers:  # wake any worker waiting for a job: it stops
                try:
                    self.jobs.put_nowait(None)
                except queue.Full:
                    break  # the workers are busy: they see the abort after their chunk
            raise
        finally:
            for worker in workers:
                worker.join()
            src.close()
            tgt.close()
        if self.failure is not None:
            raise self.failure
        self._save_folders()
        ctx.report.complete = not any(w.failed for w in self.works) and not ctx.report.item_errors
        ctx.ledger.record_pass(ctx.report.pass_name, ctx.report.to_dict())
        self._tick(force=True)

    def _plan(self, src: Link, tgt: Link, row: FolderRow) -> None:
        try:
            work = plan_folder(self.ctx, src, tgt, row, self._enqueue)
        except (StoreRefused, FolderChanged) as exc:
            # Chunks already queued are copied; the folder is not marked clean.
            self.ctx.report.error(ItemError(row.src_folder, None, None, f"folder skipped: {exc}"))
            return
        except _Aborted:
            return
        if work is not None:
            self.works.append(work)

    def _enqueue(self, work: FolderWork, chunk: list[MessageMeta]) -> None:
        """Hand one chunk to the workers; blocks while the queue is full (bounded memory)."""
        self.to_copy += len(chunk)
        self.bytes_to_copy += sum(m.size for m in chunk)
        if not self._put((work, chunk)):
            raise _Aborted

    def _put(self, job: _Job) -> bool:
        """Queue a job, waiting while the queue is full; False: the pass was aborted."""
        while not self.abort.is_set():
            try:
                self.jobs.put(job, timeout=self.ctx.options.progress_interval_s)
                return True
            except queue.Full:
                self._tick()
        return False

    def _worker(self, index: int) -> None:
        ctx = self.ctx
        src, tgt = ctx.link("source"), ctx.link("target")
        hosts = [ctx.source.host_key, ctx.target.host_key]
        # The first worker runs on the pass's own grant; the others only if the limits allow.
        granted = index == 0 or self.limiter.try_acquire(hosts, blocking=False)
        if not granted:
            return
        try:
            while not self.abort.is_set():
                try:
                    job = self.jobs.get(timeout=self.ctx.options.progress_interval_s)
                except queue.Empty:
                    continue
                if job is None:
                    return
                work, chunk = job
                try:
                    copy_chunk(ctx, src, tgt, work, chunk)
                except (StoreRefused, FolderChanged) as exc:
                    work.failed = True
                    ctx.report.error(
                        ItemError(
                            work.src_folder, None, None, f"{len(chunk)} messages not copied: {exc}"
                        )
                    )
        except BaseException as exc:  # noqa: BLE001 - handed to the pass thread, which raises it
            self.failure = self.failure or exc
            self.abort.set()
        finally:
            src.close()
            tgt.close()
            if index > 0:
                self.limiter.release(hosts)

    def _save_folders(self) -> None:
        clean_filters = self.ctx.options.since is None and self.ctx.options.before is None
        for work in self.works:
            st = work.status
            clean = clean_filters and not work.failed
            self.ctx.ledger.save_folder(
                FolderRow(
                    work.src_folder,
                    work.tgt_folder,
                    st.uidvalidity,
                    st.uidnext if clean else None,
                    st.highestmodseq if clean else None,
                    work.tgt_uidvalidity,
                )
            )

    def _tick(self, force: bool = False) -> None:
        if self.progress_cb is None:
            return
        now = time.monotonic()
        if not force and now - self.last_tick < self.ctx.options.progress_interval_s:
            return
        self.last_tick = now
        r = self.ctx.report
        self.progress_cb(
            Progress(
                self.folder,
                self.folders_done,
                self.folders_total,
                r.messages_copied,
                self.to_copy,
                r.bytes_copied,
                self.bytes_to_copy,
            )
        )
