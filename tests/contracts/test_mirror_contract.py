"""The Mirror port's contract: one body per rule, run against the in-memory mirror of
the simulator and the SQL mirror of the worker (SQLite and PostgreSQL).

Each implementation comes with a probe: how a test reads back what was mirrored
(the memory mirror's attributes, the store's queries)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest
from cryptography.fernet import Fernet

from mailflip.domain.model import Alert, Mailbox, OrderSpec, OrderState, Poc, UserSpec
from mailflip.domain.names import Status
from mailflip.domain.reconcile import Absent, Grade, Reconciliation
from mailflip.domain.timeline import TimelineEvent
from mailflip.errors import InvalidInput
from mailflip.store.memory import MemoryMirror
from mailflip.store.port import Mirror
from mailflip.store.repositories import SqlStore, create_store
from mailflip.store.sql_mirror import SqlMirror

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
USERS = ("ann", "bob", "cy")


class Probe(Protocol):
    def seed_credentials(self, order_id: str) -> None: ...

    def has_credentials(self, order_id: str) -> bool: ...

    def timeline(self, order_id: str) -> list[TimelineEvent]: ...

    def status(self, order_id: str) -> str: ...

    def mailboxes(self, order_id: str) -> dict[str, tuple[str, bool]]:
        """address -> (created, answered)"""

    def reconciliations(self, order_id: str) -> dict[str, tuple[str, Reconciliation]]:
        """mailbox -> (pass, result) of its latest reconciliation"""

    def domain_txt(self, order_id: str) -> dict[str, list[str]]: ...

    def alerts(self, order_id: str) -> list[tuple[str, str]]:
        """(code, detail) of the order's alerts, in order"""


@dataclass
class MemoryProbe:
    mirror: MemoryMirror

    def seed_credentials(self, order_id: str) -> None:
        return None  # the memory mirror keeps no secrets, only whether they were purged

    def has_credentials(self, order_id: str) -> bool:
        return order_id not in self.mirror.credentials_purged

    def timeline(self, order_id: str) -> list[TimelineEvent]:
        return self.mirror.timeline(order_id)

    def status(self, order_id: str) -> str:
        return self.mirror.states[order_id].status.value

    def mailboxes(self, order_id: str) -> dict[str, tuple[str, bool]]:
        return {a: (m.created, m.answered)
                for a, m in self.mirror.states[order_id].mailboxes.items()}

    def reconciliations(self, order_id: str) -> dict[str, tuple[str, Reconciliation]]:
        return self.mirror.latest_reconciliations(order_id)

    def alerts(self, order_id: str) -> list[tuple[str, str]]:
        return [(a.code, a.detail) for a in self.mirror.states[order_id].alerts]

    def domain_txt(self, order_id: str) -> dict[str, list[str]]:
        return self.mirror.domain_txt.get(order_id, {})


@dataclass
class SqlProbe:
    store: SqlStore

    def seed_credentials(self, order_id: str) -> None:
        self.store.save_credentials(order_id, "tenant", {"client_secret": "s3cret"})

    def has_credentials(self, order_id: str) -> bool:
        try:
            self.store.load_credentials(order_id, "tenant")
        except InvalidInput:
            return False
        return True

    def timeline(self, order_id: str) -> list[TimelineEvent]:
        return self.store.timeline(order_id)

    def status(self, order_id: str) -> str:
        return self.store.get_order(order_id).status.value

    def mailboxes(self, order_id: str) -> dict[str, tuple[str, bool]]:
        return {m.address: (m.created, m.answered) for m in self.store.mailboxes(order_id)}

    def reconciliations(self, order_id: str) -> dict[str, tuple[str, Reconciliation]]:
        return {r.mailbox: (r.pass_name, r.result) for r in self.store.reconciliations(order_id)}

    def alerts(self, order_id: str) -> list[tuple[str, str]]:
        return [(a.code, a.detail) for a in self.store.alerts(order_id)]

    def domain_txt(self, order_id: str) -> dict[str, list[str]]:
        return self.store.domain_txt(order_id)


@pytest.fixture(params=["memory", "sqlite",
                        pytest.param("postgres", marks=pytest.mark.postgres)])
def subject(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Mirror, Probe]]:
    if request.param == "memory":
        memory = MemoryMirror()
        yield memory, MemoryProbe(memory)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('mirror')}/mailflip.db"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    store = create_store(url, secret_key=Fernet.generate_key().decode(), clock=lambda: T0)
    try:
        yield SqlMirror(store), SqlProbe(store)
    finally:
        store.close()


def state(order_id: str = "o-1", status: Status = Status.AWAITING_O365,
          mailboxes: dict[str, Mailbox] | None = None) -> OrderState:
    """A fresh state each call (a mirror may keep what it is given)."""
    spec = OrderSpec(
        partner="acme-msp", customer="Contoso", poc=Poc("Pat Doe", "pat@contoso.com"),
        cutover=T0 + timedelta(days=21), initial_domain="contoso.onmicrosoft.com",
        vanity_domains=["contoso.com"],
        users=[UserSpec(n.title(), f"{n}@old.example", f"{n}@contoso.com", "SPB")
               for n in USERS],
    )
    if mailboxes is None:
        mailboxes = {f"{n}@contoso.com": Mailbox(f"{n}@contoso.com", f"{n}@old.example")
                     for n in USERS}
    return OrderState(order_id=order_id, spec=spec, status=status, created_at=T0,
                      placed_at=T0, status_since=T0, mailboxes=mailboxes)


def ev(minute: int, seq: int, source: str = "order", **data: object) -> TimelineEvent:
    return TimelineEvent(T0 + timedelta(minutes=minute), "status", dict(data),
                         source=source, seq=seq)


def keys(events: list[TimelineEvent]) -> list[tuple[str, int]]:
    return [(e.source, e.seq) for e in events]


async def test_record_mirrors_the_latest_state(subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    await mirror.record(state(), [ev(0, 1, status="Awaiting O365 Creation")])
    await mirror.record(state(status=Status.INITIATING_VANITY), [])

    assert probe.status("o-1") == "Initiating Vanity Domain Map"
    assert set(probe.mailboxes("o-1")) == {f"{n}@contoso.com" for n in USERS}


async def test_events_are_idempotent_by_source_and_seq(subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    await mirror.record(state(), [ev(0, 1, n="first"), ev(1, 2, n="first")])
    # A retried write repeats (source, seq) pairs, possibly with other data: the
    # first write wins. The same seq from another source is another event.
    await mirror.append_events("o-1", [ev(1, 2, n="retry"), ev(2, 3, n="first"),
                                       ev(2, 2, "syncs", n="first")])
    await mirror.record(state(), [ev(0, 1, n="retry"), ev(3, 4, n="first")])

    timeline = probe.timeline("o-1")
    assert keys(timeline) == [("order", 1), ("order", 2), ("order", 3), ("syncs", 2),
                              ("order", 4)]
    assert {e.data["n"] for e in timeline} == {"first"}


async def test_timeline_is_ordered_by_at_then_source_then_seq(
        subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    given = [ev(5, 9), ev(1, 7, "syncs"), ev(1, 8), ev(1, 3, "syncs"), ev(0, 10), ev(5, 1, "syncs")]
    await mirror.record(state(), given[:3])
    await mirror.append_events("o-1", given[3:])

    timeline = probe.timeline("o-1")
    assert keys(timeline) == [("order", 10), ("order", 8), ("syncs", 3), ("syncs", 7),
                              ("order", 9), ("syncs", 1)]
    assert [e.at for e in timeline] == sorted(e.at for e in given)
    assert all(e.at.utcoffset() == timedelta(0) for e in timeline)


async def test_a_snapshot_with_some_mailboxes_keeps_the_others(
        subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    await mirror.record(state(), [])
    # The workflow sends only the mailboxes that changed since its last write.
    changed = Mailbox("bob@contoso.com", "bob@old.example", created="vanity", answered=True)
    await mirror.record(state(status=Status.CREATING_MAILBOXES,
                              mailboxes={changed.address: changed}), [])

    boxes = probe.mailboxes("o-1")
    assert set(boxes) == {f"{n}@contoso.com" for n in USERS}
    assert boxes["bob@contoso.com"] == ("vanity", True)
    assert boxes["ann@contoso.com"] == ("", False)
    assert probe.status("o-1") == "Creating Mailboxes"


async def test_purge_removes_only_that_orders_credentials(
        subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    for order_id in ("o-1", "o-2"):
        await mirror.record(state(order_id), [])
        probe.seed_credentials(order_id)
    assert probe.has_credentials("o-1") and probe.has_credentials("o-2")

    await mirror.purge_credentials("o-1")
    await mirror.purge_credentials("o-1")  # a retried activity purges again: no error

    assert not probe.has_credentials("o-1")
    assert probe.has_credentials("o-2")
    assert probe.status("o-1") == "Awaiting O365 Creation"  # the order itself stays


async def test_orders_do_not_share_timelines(subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    await mirror.record(state("o-1"), [ev(0, 1)])
    await mirror.record(state("o-2"), [ev(0, 1), ev(1, 2)])

    assert keys(probe.timeline("o-1")) == [("order", 1)]
    assert keys(probe.timeline("o-2")) == [("order", 1), ("order", 2)]


async def test_r_reconcile_keeps_each_mailboxs_latest_result_with_its_lists(
        subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    await mirror.record(state(), [])
    gap = Absent("Archive", "2024-05-01T08:00:00+00:00", 5_120, "<late@old.example>")
    big = Absent("INBOX", "2023-02-01T08:00:00+00:00", 60_000_000, "<big@old.example>",
                 "target refused: [LIMIT] too large", "Holiday photos")
    final = Reconciliation(10, 100_000, 8, [big], [gap])
    await mirror.save_reconciliation("o-1", "ann@contoso.com", "final", T0, final)
    await mirror.save_reconciliation("o-1", "ann@contoso.com", "final", T0, final)  # retried
    await mirror.save_reconciliation("o-1", "bob@contoso.com", "final", T0,
                                     Reconciliation(3, 900, 3))
    later = Reconciliation(10, 100_000, 9, [big])
    await mirror.save_reconciliation("o-1", "ann@contoso.com", "delta", T0 + timedelta(days=1),
                                     later)
    await mirror.purge_credentials("o-1")  # completion purges secrets, never the proof

    got = probe.reconciliations("o-1")
    assert list(got) == ["ann@contoso.com", "bob@contoso.com"]
    assert got["ann@contoso.com"] == ("delta", later)
    assert got["ann@contoso.com"][1].grade is Grade.SKIPPED
    assert got["bob@contoso.com"][1].grade is Grade.COMPLETE
    assert probe.reconciliations("o-2") == {}


async def test_watchdog_lists_open_orders_and_adds_an_alert_once(
        subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    await mirror.record(state("o-1"), [])
    done = state("o-2")
    done.completed = True
    await mirror.record(done, [])
    assert await mirror.open_orders() == ["o-1"]
    first = Alert("ctp_failed", "warning", T0, "own alert")
    await mirror.record(replace(state("o-1"), alerts=[first]), [])
    stuck = Alert("workflow_task_failing", "critical", T0 + timedelta(minutes=1), "order-o-1")
    assert await mirror.add_alert("o-1", stuck) is True
    assert await mirror.add_alert("o-1", stuck) is False  # once per code and detail
    assert probe.alerts("o-1") == [("ctp_failed", "own alert"),
                                   ("workflow_task_failing", "order-o-1")]
    with pytest.raises(InvalidInput) as err:
        await mirror.add_alert("o-9", stuck)
    assert err.value.field == "order_id"
    # the workflow, running again, mirrors its own list (which now has the alert)
    await mirror.record(replace(state("o-1"), alerts=[first, stuck]), [])
    assert probe.alerts("o-1") == [("ctp_failed", "own alert"),
                                   ("workflow_task_failing", "order-o-1")]


async def test_the_tenants_txt_values_are_kept_per_order_and_domain(
        subject: tuple[Mirror, Probe]) -> None:
    mirror, probe = subject
    await mirror.save_domain_txt("o-1", {"Contoso.com": ["MS=ms12345"]})
    await mirror.save_domain_txt("o-1", {"contoso.com": ["MS=ms12345"]})  # again: the same
    await mirror.save_domain_txt("o-2", {"fabrikam.com": ["MS=ms999"]})
    assert probe.domain_txt("o-1") == {"contoso.com": ["MS=ms12345"]}
    assert probe.domain_txt("o-2") == {"fabrikam.com": ["MS=ms999"]}
    assert probe.domain_txt("o-3") == {}
