"""record() mirrors an order's state; timeline events are inserted once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mailflip.domain.model import Alert, OrderState
from mailflip.domain.names import Ctp, CtpState, Status
from mailflip.domain.timeline import TimelineEvent
from mailflip.errors import InvalidInput
from mailflip.store.repositories import SqlStore, create_store

StateFactory = Callable[..., OrderState]


T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # == the `t0` fixture (store clock)


@pytest.fixture(autouse=True)
def _same_t0(t0: datetime) -> None:
    assert t0 == T0


def events(source: str, seqs: range) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            T0 + timedelta(minutes=s), "sync", {"pass": "initial", "n": s}, source=source, seq=s
        )
        for s in seqs
    ]


def test_record_round_trips_the_order(store: SqlStore, state_factory: StateFactory) -> None:
    state = state_factory()
    store.record(state, [])

    order = store.get_order("o-1")
    assert (order.partner, order.customer, order.status) == (
        "msp-1",
        "Contoso Ltd",
        Status.INITIATING_VANITY,
    )
    assert order.on_hold and order.hold_reason == "vanity_domain_unverified"
    assert order.cutover == state.spec.cutover and order.cutover.utcoffset() == timedelta(0)
    assert (order.placed_at, order.updated_at, order.time_zone) == (
        state.placed_at,
        T0,
        "Europe/Paris",
    )
    assert not order.cancelled and not order.completed

    boxes = {m.address: m for m in store.mailboxes("o-1")}
    assert set(boxes) == set(state.mailboxes)
    assert boxes["u0@contoso.example"].display_name == "User 0"
    assert boxes["u0@contoso.example"].sku == "O365_BUSINESS"
    assert boxes["u0@contoso.example"].needs_password is True
    assert (boxes["info@contoso.example"].kind, boxes["info@contoso.example"].sku) == (
        "shared",
        None,
    )
    assert store.domains("o-1") == list(state.domains.values())
    assert store.ctp_runs("o-1") == list(state.ctps.values())
    assert store.tasks("o-1") == state.tasks
    [alert] = store.alerts("o-1")
    assert (alert.order_id, alert.code, alert.at, alert.detail) == (
        "o-1",
        "insufficient_licenses",
        T0,
        "2 missing",
    )


def test_record_follows_changes(store: SqlStore, state_factory: StateFactory) -> None:
    state = state_factory()
    store.record(state, [])

    state.hold = None
    state.status = Status.VERIFYING_VANITY
    state.mailboxes["u1@contoso.example"].answered = True
    state.mailboxes["u0@contoso.example"].removed = True
    del state.mailboxes["u2@contoso.example"]
    state.tasks[0] = replace(
        state.tasks[0], state="resolved", resolved_at=T0, resolved_by="support"
    )
    state.alerts.append(Alert("ctp_failed", "warning", T0 + timedelta(hours=1)))
    name = Ctp.PWD_FLAGS.value
    state.ctps[name] = replace(
        state.ctps[Ctp.SETUP_O365.value], name=name, state=CtpState.FAILED, error="boom"
    )
    store.record(state, [])

    order = store.get_order("o-1")
    assert (order.status, order.on_hold, order.hold_reason) == (
        Status.VERIFYING_VANITY,
        False,
        None,
    )
    boxes = {m.address: m for m in store.mailboxes("o-1")}
    # A snapshot may carry only the mailboxes that changed: absent ones are kept.
    assert "u2@contoso.example" in boxes and boxes["u1@contoso.example"].answered
    assert boxes["u0@contoso.example"].removed
    assert store.tasks("o-1")[0].resolved_by == "support"
    assert [a.code for a in store.alerts("o-1")] == ["insufficient_licenses", "ctp_failed"]
    assert {r.name: r.error for r in store.ctp_runs("o-1")}[name] == "boom"


def test_retried_event_writes_insert_nothing_twice(
    store: SqlStore, state_factory: StateFactory
) -> None:
    state = state_factory()
    first = [
        TimelineEvent(T0, "status", {"status": Status.SAVED}, seq=1),
        TimelineEvent(T0, "hold", {"reason": "x"}, seq=2),
    ]
    store.record(state, first)
    store.record(state, first)  # the activity retried
    store.record(state, [*first, TimelineEvent(T0 + timedelta(seconds=1), "ctp", {}, seq=3)])
    store.append_events("o-1", events("syncs", range(0, 3)))
    store.append_events("o-1", events("syncs", range(1, 5)))  # overlaps the last call

    timeline = store.timeline("o-1")
    keys = [(e.source, e.seq) for e in timeline]
    assert len(keys) == len(set(keys)) == 8
    assert timeline == sorted(timeline, key=lambda e: (e.at, e.source, e.seq))
    # Ordered by (at, source, seq): at T0 "order" sorts before "syncs".
    assert keys[:4] == [("order", 1), ("order", 2), ("syncs", 0), ("order", 3)]
    assert timeline[0].data == {"status": "Saved in Website"}


def test_event_ids_are_per_order(store: SqlStore, state_factory: StateFactory) -> None:
    store.record(state_factory("o-1"), events("order", range(3)))
    store.record(state_factory("o-2"), events("order", range(3)))
    assert len(store.timeline("o-1")) == len(store.timeline("o-2")) == 3


def test_unknown_order_is_bad_input(store: SqlStore) -> None:
    for read in (
        store.get_order,
        store.timeline,
        store.tasks,
        store.mailboxes,
        store.alerts,
        store.domains,
        store.ctp_runs,
    ):
        with pytest.raises(InvalidInput) as err:
            read("nope")
        assert err.value.field == "order_id"
    with pytest.raises(InvalidInput, match="order_id"):
        store.append_events("nope", events("syncs", range(1)))


def test_list_orders_filters_and_pages(store: SqlStore, state_factory: StateFactory) -> None:
    for i in range(5):
        state = state_factory(f"o-{i}")
        state.status = Status.MIGRATING if i % 2 else Status.SAVED
        store.record(state, [])
    assert {o.order_id for o in store.list_orders(status=Status.MIGRATING)} == {"o-1", "o-3"}
    assert [o.order_id for o in store.list_orders(status="Saved in Website")] == [
        "o-0",
        "o-2",
        "o-4",
    ]
    pages = store.list_orders(limit=2) + store.list_orders(limit=2, offset=2)
    assert [o.order_id for o in pages] == ["o-0", "o-1", "o-2", "o-3"]
    assert len(store.alerts()) == 5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 10_000}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "Lost"}, "status"),
    ],
)
def test_list_orders_bad_input_names_the_field(
    store: SqlStore, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        store.list_orders(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_bad_snapshot_changes_nothing(store: SqlStore, state_factory: StateFactory) -> None:
    with pytest.raises(InvalidInput) as err:
        store.record(state_factory(""), [])
    assert err.value.field == "order_id"
    with pytest.raises(InvalidInput) as err:
        store.record(state_factory(), [TimelineEvent(T0, "x", source="")])
    assert err.value.field == "events[0].source"
    assert store.list_orders() == []


def test_event_data_keeps_instants_as_iso_text(
    store: SqlStore, state_factory: StateFactory
) -> None:
    data = {"at": T0, "status": Status.MIGRATING, "ctps": ("a", "b")}
    store.record(state_factory(), [TimelineEvent(T0, "status", data, seq=7)])
    [event] = store.timeline("o-1")
    assert (event.source, event.seq, event.kind, event.at) == ("order", 7, "status", T0)
    assert event.data == {"at": T0.isoformat(), "status": "Migrating Email", "ctps": ["a", "b"]}


def test_concurrent_records_of_one_order_do_not_conflict(
    database_url: str, secret_key: str, state_factory: StateFactory
) -> None:
    """Retried and overlapping mirror activities: same lock order, no deadlock, no loss."""
    writers = 4
    stores = [create_store(database_url, secret_key=secret_key) for _ in range(writers)]
    start = threading.Barrier(writers)

    def write(i: int) -> None:
        state = state_factory(users=300)
        start.wait()
        store = stores[i]
        store.record(state, events("order", range(i, i + 5)))

    try:
        with ThreadPoolExecutor(writers) as pool:
            list(pool.map(write, range(writers)))
        assert len(stores[0].mailboxes("o-1")) == 301
        assert [e.seq for e in stores[0].timeline("o-1")] == list(range(writers + 4))
    finally:
        for store in stores:
            store.close()
