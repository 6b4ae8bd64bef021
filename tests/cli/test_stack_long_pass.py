"""R-PASS-LONG on the local stack: a Temporal dev server and `mailflip worker` processes
moving real mail (the sync engine against Dovecot) for a live order. The worker running
a mailbox's initial pass is killed with SIGKILL mid-pass; another worker picks the pass
up once its heartbeat times out and resumes it from the ledger: the mailbox ends with
every message at the target exactly once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailflip.localnet import free_port
from mailflip.stack.devserver import DevServer
from mailflip.store.repositories import SqlStore, create_store
from tests.sync.dovecot import Dovecot
from tests.sync.mail import ids_by_folder, make_msg, put, snapshot
from tests.sync.proxy import FaultProxy

from .cli import EXAMPLES, env_for
from .test_stack_e2e import Background, create_and_place, temporal_pids, wait_for

pytestmark = pytest.mark.slow
MAILBOXES = ("ann@contoso.example", "bob@contoso.example", "info@contoso.example")


def ledger_counts(path: Path) -> tuple[int, int]:
    """(intents, done) in a mailbox's ledger, read-only; (0, 0) before it exists."""
    if not path.exists():
        return 0, 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            rows = dict(db.execute(
                "SELECT state, count(*) FROM sync_messages GROUP BY state").fetchall())
    except sqlite3.DatabaseError:  # not created yet, or caught mid-creation
        return 0, 0
    return rows.get("intent", 0), rows.get("done", 0)


def pass_state(store: SqlStore, order_id: str, mailbox: str, pass_name: str) -> str | None:
    states = [e.data["state"] for e in store.timeline(order_id)
              if e.kind == "sync" and e.data["mailbox"] == mailbox
              and e.data["pass"] == pass_name]
    return states[-1] if states else None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = create_store(f"sqlite:///{tmp_path}/mailflip.db")
    yield opened
    opened.close()


async def test_r_pass_long_a_worker_killed_mid_pass_is_resumed_by_another(
        tmp_path: Path, store: SqlStore, dovecot: Dovecot) -> None:
    tag = tmp_path.name[-8:].replace("-", "")
    users = {a: (dovecot.add_user(f"k9s{n}{tag}"), dovecot.add_user(f"k9t{n}{tag}"))
             for n, a in enumerate(MAILBOXES)}
    ann_src, ann_dst = users[MAILBOXES[0]]
    put(dovecot, ann_src, {"INBOX": [make_msg(i, tag="k9") for i in range(900)],
                           "Archive": [make_msg(i, tag="k9a") for i in range(100)]})
    proxy = FaultProxy((dovecot.host, dovecot.port))
    proxy.append_delay_s = 0.004  # a slow tenant: the pass lasts a few seconds
    endpoints = tmp_path / "endpoints.csv"
    endpoints.write_text("mailbox,source,target\n" + "".join(
        f"{a},{dovecot.url(s)},{proxy.url(t)}\n" for a, (s, t) in users.items()))

    server = DevServer(tmp_path / "var", port=free_port(), ui_port=free_port())
    server.start()
    env = {**env_for(tmp_path, server.port), "MAILFLIP_MAIL": "engine",
           "MAILFLIP_MAIL_ENDPOINTS": str(endpoints),
           "MAILFLIP_MAIL_STATE_DIR": str(tmp_path / "mail-state"),
           "MAILFLIP_PASS_HEARTBEAT_SECONDS": "5"}
    world = str(EXAMPLES / "worlds" / "demo.yaml")
    workers: list[Background] = []

    def start_worker(name: str) -> Background:
        (tmp_path / name).mkdir()
        w = Background(["worker", "--world", world], env, tmp_path / name)
        workers.append(w)
        w.wait_for_output("Ctrl-C stops it")
        w.wait_for_output("sync engine (3 mailboxes")
        return w

    try:
        await server.wait_ready()
        first = start_worker("a")
        order_id = create_and_place(tmp_path, env)
        ledger = tmp_path / "mail-state" / order_id / MAILBOXES[0] / "ledger.sqlite"

        def under_way() -> bool:
            intents, done = ledger_counts(ledger)
            return done >= 200 and done + intents > 0 and done < 1000

        wait_for("ann's initial pass to be under way", under_way, timeout=120)
        first.proc.kill()  # SIGKILL: no handover, no last heartbeat
        first.proc.wait()
        stopped_at = ledger_counts(ledger)[1]

        start_worker("b")
        wait_for("ann's initial pass to complete",
                 lambda: pass_state(store, order_id, MAILBOXES[0], "initial") == "completed",
                 timeout=180)
        intents, done = ledger_counts(ledger)
        assert (intents, done) == (0, 1000) and stopped_at < 1000
        want = ids_by_folder(snapshot(dovecot, ann_src, bodies=False))
        got = ids_by_folder(snapshot(dovecot, ann_dst, bodies=False))
        assert got == want  # every message once: nothing lost, nothing doubled
        assert sum(sum(c.values()) for c in got.values()) == 1000
        assert workers[1].interrupt() == 0, workers[1].output()
    finally:
        for w in workers:
            w.kill()
        server.stop()
        proxy.close()
    assert temporal_pids(str(tmp_path)) == []
