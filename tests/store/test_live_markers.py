"""The live pages' change markers: one query for many orders, and a marker moves with
each thing an order page shows (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.store.conftest import make_state

from mailflip.store.repositories import SqlStore


def test_a_marker_moves_with_the_order_its_passes_and_its_txt_values(store: SqlStore) -> None:
    store.record(make_state("o-1"), [])
    store.record(make_state("o-2"), [])
    before = store.live_markers(["o-1", "o-2", "o-none"])
    assert set(before) == {"o-1", "o-2"}
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    changes = [
        lambda: store.save_domain_txt("o-1", {"contoso.example": ["MS=ms1"]}),
        lambda: store.save_progress("o-1", "ann@contoso.example", "initial", at, at,
                                    {"messages_copied": 1, "messages_to_copy": 2,
                                     "bytes_copied": 10, "bytes_to_copy": 20}),
        lambda: store.add_alert("o-1", "mx_stuck", "critical", at, "MX still old"),
    ]
    seen = before["o-1"]
    for change in changes:
        change()
        now = store.live_markers(["o-1", "o-2"])
        assert now["o-1"] != seen and now["o-2"] == before["o-2"]
        seen = now["o-1"]
