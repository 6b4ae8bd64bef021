"""MailMover contract: the simulated world and the real sync engine (over a real
Dovecot) behave the same behind the `run_sync_pass` activity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from tests.sync.dovecot import Dovecot
from tests.sync.mail import make_msg, put

from mailflip.lifecycle.syncs.activities import SyncsActivities
from mailflip.lifecycle.syncs.messages import SyncPassInput
from mailflip.mail.engine_mover import EngineMover
from mailflip.simulate.world import SimulatedWorld, SyncFail, WorldConfig
from mailflip.store.memory import MemoryMirror

GOOD, BAD = "ann@contoso.com", "bob@contoso.com"
MIRROR = MemoryMirror()


def simulated(tmp_path: Path, dovecot: Dovecot) -> tuple[SyncsActivities, Callable[[], int]]:
    world = SimulatedWorld(WorldConfig(sync_duration=timedelta(0),
                                       sync_fail=[SyncFail(BAD, "initial")]), timedelta(0))
    return SyncsActivities(world, MIRROR), lambda: 100


def engine(tmp_path: Path, dovecot: Dovecot) -> tuple[SyncsActivities, Callable[[], int]]:
    users = {GOOD: (dovecot.add_user(f"src{tmp_path.name[-6:]}"),
                    dovecot.add_user(f"dst{tmp_path.name[-6:]}"))}
    put(dovecot, users[GOOD][0], {"INBOX": [make_msg(i) for i in range(5)],
                                  "Archive": [make_msg(i, tag="a") for i in range(3)]})

    def resolve(order_id: str, mailbox: str, source: str) -> tuple[str, str]:
        if mailbox not in users:  # a source that refuses the login
            return (dovecot.url("nosuchuser").replace(":pw@", ":wrong@"),
                    dovecot.url(users[GOOD][1]))
        src, dst = users[mailbox]
        return dovecot.url(src), dovecot.url(dst)

    return SyncsActivities(EngineMover(resolve, tmp_path / "state"), MIRROR), lambda: 8


@pytest.mark.parametrize("make", [simulated, engine], ids=["simulated", "engine"])
async def test_mail_mover_contract(make, tmp_path: Path, dovecot: Dovecot):
    acts, expected = make(tmp_path, dovecot)
    env = ActivityEnvironment()
    first = await env.run(acts.run_sync_pass, SyncPassInput("o1", GOOD, GOOD, "initial"))
    assert first.messages == expected() and first.errors == 0
    again = await env.run(acts.run_sync_pass, SyncPassInput("o1", GOOD, GOOD, "resync"))
    assert again.errors == 0
    if make is engine:
        assert again.messages == 0  # incremental: nothing new, nothing twice
    with pytest.raises(ApplicationError) as err:
        await env.run(acts.run_sync_pass, SyncPassInput("o1", BAD, BAD, "initial"))
    assert err.value.type == "SyncItemError" and err.value.non_retryable


@pytest.mark.parametrize("make", [simulated, engine], ids=["simulated", "engine"])
async def test_r_reconcile_after_a_post_cutover_pass_counts_back_lists_to_the_store(
        make, tmp_path: Path, dovecot: Dovecot):
    acts, expected = make(tmp_path, dovecot)
    order = f"o-{make.__name__}"
    env = ActivityEnvironment()
    initial = await env.run(acts.run_sync_pass, SyncPassInput(order, GOOD, GOOD, "initial"))
    assert initial.report is None  # before cutover no reconciliation
    final = await env.run(acts.run_sync_pass, SyncPassInput(order, GOOD, GOOD, "final"))
    assert final.report == {"grade": "complete", "source": expected(), "target": expected(),
                            "skipped": 0, "missing": 0}
    [(pass_name, rec)] = MIRROR.latest_reconciliations(order).values()
    assert pass_name == "final" and rec.grade == "complete" and rec.present == expected()
