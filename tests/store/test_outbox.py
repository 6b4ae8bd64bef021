"""Notification outbox: a key is claimed once only, even by concurrent claimers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mailflip.errors import InvalidInput
from mailflip.store.repositories import SqlStore, create_store

KEY = "user_gather_info|u0@contoso.example|S3"


def claim(store: SqlStore, key: str = KEY, order_id: str = "o-1") -> bool:
    return store.claim_notification(
        key, order_id, "user_gather_info", "u0@contoso.example", "S3", "Your mailbox", "Hello"
    )


def test_claim_once_then_mark_sent(store: SqlStore) -> None:
    assert claim(store) is True
    assert claim(store) is False  # a retried activity
    [pending] = store.pending_notifications()
    assert (pending.key, pending.state, pending.subject, pending.sent_at) == (
        KEY,
        "pending",
        "Your mailbox",
        None,
    )

    store.mark_notification_sent(KEY)
    store.mark_notification_sent(KEY)  # again: no change, no error
    assert store.pending_notifications() == []
    [sent] = store.notifications("o-1")
    assert sent.state == "sent" and sent.sent_at is not None
    assert claim(store) is False  # sent stays claimed
    assert store.notifications("o-2") == []


def test_claims_are_per_key(store: SqlStore) -> None:
    assert claim(store, "a") and claim(store, "b", order_id="o-2")
    assert [n.key for n in store.pending_notifications()] == ["a", "b"]
    assert [n.key for n in store.notifications("o-2")] == ["b"]


def test_bad_outbox_input_names_the_field(store: SqlStore) -> None:
    with pytest.raises(InvalidInput) as err:
        store.mark_notification_sent("never-claimed")
    assert err.value.field == "key"
    with pytest.raises(InvalidInput) as err:
        claim(store, key=" ")
    assert err.value.field == "key"
    assert store.pending_notifications() == []


def test_concurrent_claims_one_winner(database_url: str, secret_key: str) -> None:
    """Separate stores (own pools) race on one key; exactly one claim wins."""
    claimers = 6
    stores = [create_store(database_url, secret_key=secret_key) for _ in range(claimers)]
    start = threading.Barrier(claimers)

    def race(store: SqlStore) -> bool:
        start.wait()
        return claim(store)

    try:
        with ThreadPoolExecutor(claimers) as pool:
            results = list(pool.map(race, stores))
    finally:
        for store in stores:
            store.close()
    assert sorted(results) == [False] * (claimers - 1) + [True]
