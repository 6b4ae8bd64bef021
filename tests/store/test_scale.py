"""record() on a 10,000-mailbox order issues as many statements as on a small one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event

from mailflip.domain.model import OrderState
from mailflip.store.repositories import SqlStore


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement sent to the database (an executemany counts once)."""
    seen: list[str] = []

    def on_execute(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def test_record_cost_does_not_grow_with_mailboxes(
    store: SqlStore, state_factory: Callable[..., OrderState]
) -> None:
    small, big = state_factory("small", users=3), state_factory("big", users=10_000)
    counts = {}
    for state in (small, big):
        with count_statements(store.engine) as first:
            store.record(state, [])
        state.mailboxes["u2@contoso.example"].answered = True
        with count_statements(store.engine) as again:
            store.record(state, [])
        counts[state.order_id] = (len(first), len(again))

    assert counts["big"] == counts["small"]
    assert counts["big"][0] <= 20
    assert len(store.mailboxes("big")) == 10_001
    assert [m.answered for m in store.mailboxes("big") if m.address == "u2@contoso.example"] == [
        True
    ]
