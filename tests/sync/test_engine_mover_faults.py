"""R-PASS-RETRY for the real mail mover: the sync-pass activity over EngineMover on real
Dovecot, through the fault proxy. A dropped connection that outlasts the engine's own
reconnects ends the attempt with a retryable error, and the next attempt resumes from
the ledger (nothing copied twice); a refused login is permanent at once."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from mailflip.errors import PassInterrupted
from mailflip.lifecycle.syncs.activities import SyncsActivities
from mailflip.lifecycle.syncs.messages import SyncPassInput
from mailflip.mail.engine_mover import EngineMover
from mailflip.store.memory import MemoryMirror
from mailflip.sync import PassOptions
from tests.sync.mail import ids_by_folder, make_msg, put, snapshot
from tests.sync.proxy import FaultProxy

OPTS = PassOptions(batch_messages=5, backoff_base_s=0.01, max_retries=2, connections=1)


@pytest.fixture
def proxy(dovecot):
    p = FaultProxy((dovecot.host, dovecot.port))
    yield p
    p.close()


async def test_r_pass_retry_a_dropped_connection_is_retried_and_the_pass_resumes(
        dovecot, account, proxy, tmp_path):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(12)]})
    # an APPEND is stored but its OK is lost with the connection, and the network stays
    # down: the engine's own reconnects run out and the attempt gives up, in doubt
    # about what it appended
    proxy.swallow_append_ok = 1
    proxy.outage_after_swallow = True
    urls = {"ann@contoso.com": (dovecot.url(src), proxy.url(dst))}
    acts = SyncsActivities(EngineMover(lambda o, m, s: urls[m], tmp_path / "state", OPTS),
                           MemoryMirror())
    inp = SyncPassInput("o1", "ann@contoso.com", "ann@old.example", "final")

    with pytest.raises(PassInterrupted) as first:
        # transient: not an ApplicationError, so Temporal retries the attempt
        await ActivityEnvironment().run(acts.run_sync_pass, inp)
    assert "socket error" in str(first.value) and proxy.swallowed == 1

    urls["ann@contoso.com"] = (dovecot.url(src), dovecot.url(dst))  # the network is back
    done = await ActivityEnvironment().run(acts.run_sync_pass, inp)
    assert done.errors == 0
    want = ids_by_folder(snapshot(dovecot, src, bodies=False))
    assert ids_by_folder(snapshot(dovecot, dst, bodies=False)) == want  # each message once


async def test_r_pass_retry_a_refused_login_fails_the_pass_at_once(dovecot, account,
                                                                  tmp_path):
    src, dst = account("src"), account("dst")
    wrong = dovecot.url(src).replace(":pw@", ":wrong@")
    acts = SyncsActivities(EngineMover(lambda o, m, s: (wrong, dovecot.url(dst)),
                                       tmp_path / "state", OPTS), MemoryMirror())

    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(
            acts.run_sync_pass, SyncPassInput("o1", "ann@contoso.com", "ann@x.example", "final"))
    assert err.value.type == "SyncItemError" and err.value.non_retryable
    assert "wrong" not in str(err.value)  # the password is never shown


def _ledger_done(state_dir) -> int:
    path = state_dir / "ledger.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        try:
            return int(db.execute(
                "SELECT count(*) FROM sync_messages WHERE state = 'done'").fetchone()[0])
        except sqlite3.OperationalError:  # the table is not created yet
            return 0


async def test_r_pass_long_a_stopping_worker_hands_its_pass_over(dovecot, account, proxy,
                                                                 tmp_path):
    """Deployment: the worker shuts down mid-pass. The pass stops at its next step and
    the attempt fails retryable (WorkerShutdown, retried a second later), so another
    worker resumes it from the ledger: every message ends at the target exactly once."""
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i, tag="ho") for i in range(40)]})
    proxy.append_delay_s = 0.05  # a slow target: the pass takes about 2 s
    urls = {"ann@contoso.com": (dovecot.url(src), proxy.url(dst))}
    state = tmp_path / "state"
    acts = SyncsActivities(EngineMover(lambda o, m, s: urls[m], state, OPTS), MemoryMirror())
    inp = SyncPassInput("o1", "ann@contoso.com", "ann@old.example", "final")
    env = ActivityEnvironment()
    attempt = asyncio.ensure_future(env.run(acts.run_sync_pass, inp))
    box = state / "o1" / "ann@contoso.com"
    deadline = asyncio.get_running_loop().time() + 30
    while _ledger_done(box) < 5:  # poll the ledger until the pass is under way
        assert not attempt.done() and asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)
    env.worker_shutdown()
    with pytest.raises(ApplicationError) as handed:
        await attempt
    assert handed.value.type == "WorkerShutdown" and not handed.value.non_retryable
    assert handed.value.next_retry_delay == timedelta(seconds=1)
    copied = _ledger_done(box)
    assert 5 <= copied < 40

    proxy.append_delay_s = 0
    another = ActivityEnvironment()  # "another worker", the pass's second attempt
    another.info = dataclasses.replace(another.info, attempt=2)
    done = await another.run(acts.run_sync_pass, inp)
    # the pass's result is the whole pass's, not its last attempt's
    assert done.errors == 0 and done.messages == 40
    assert done.report is not None and done.report["grade"] == "complete"
    want = ids_by_folder(snapshot(dovecot, src, bodies=False))
    assert ids_by_folder(snapshot(dovecot, dst, bodies=False)) == want  # each message once
    assert acts.mirror.passes[("o1", "ann@contoso.com", "final")][:2] == ("completed", 40)


async def test_r_pass_long_a_resumed_pass_counts_its_earlier_attempts_and_the_next_does_not(
        dovecot, account, tmp_path):
    """A later attempt's progress and result include what the earlier attempts copied
    (from the ledger); a new pass of the same name counts from its own start."""
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i, tag="re") for i in range(12)]})
    state = tmp_path / "state"
    mover = EngineMover(lambda o, m, s: (dovecot.url(src), dovecot.url(dst)), state, OPTS)
    first = await mover.run_pass("o1", "ann@contoso.com", "ann@x", "resync", lambda d: None)
    assert first.messages == 12
    put(dovecot, src, {"INBOX": [make_msg(i, tag="re2") for i in range(3)]})
    seen: list[dict] = []
    again = await mover.run_pass("o1", "ann@contoso.com", "ann@x", "resync", seen.append,
                                 resumed=True)
    assert again.messages == 15 and again.detail["copied_by_earlier_attempts"] == 12
    assert again.bytes == first.bytes + again.detail["bytes_copied"]
    assert seen and seen[-1]["messages_copied"] == 15 and seen[-1]["messages_to_copy"] == 15
    put(dovecot, src, {"INBOX": [make_msg(i, tag="re3") for i in range(2)]})
    fresh = await mover.run_pass("o1", "ann@contoso.com", "ann@x", "resync", lambda d: None)
    assert fresh.messages == 2


async def test_r_pass_long_a_running_pass_leaves_the_loops_default_executor_free(
        dovecot, account, proxy, tmp_path):
    """A pass holds a thread for as long as it runs: not one of the event loop's default
    executor, which is small and which what the pass waits for (a fresh token at each
    login, msal in asyncio.to_thread) needs; with a pass in it, ten passes of an order
    would starve their own logins."""
    from concurrent.futures import ThreadPoolExecutor

    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i, tag="ex") for i in range(30)]})
    proxy.append_delay_s = 0.05  # the pass runs for about 1.5 s
    mover = EngineMover(lambda o, m, s: (dovecot.url(src), proxy.url(dst)),
                        tmp_path / "state", OPTS)
    loop = asyncio.get_running_loop()
    one = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(one)
    try:
        running = asyncio.ensure_future(mover.run_pass("o1", "ann@contoso.com", "ann@x",
                                                       "initial", lambda d: None))
        box = tmp_path / "state" / "o1" / "ann@contoso.com"
        deadline = loop.time() + 30
        while _ledger_done(box) < 5:  # poll the ledger until the pass is under way
            assert not running.done() and loop.time() < deadline
            await asyncio.sleep(0.02)
        # the one default thread is free while the pass runs
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 5) == "free"
        assert not running.done()
        assert (await running).messages == 30
    finally:
        loop.set_default_executor(ThreadPoolExecutor())
        one.shutdown(wait=False)
