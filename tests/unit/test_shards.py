"""Syncs shards (domain.syncs): how an order's mailboxes are split over syncs workflows,
and how the order tells that every shard's passes have ended (R-POC-DONE, R-COMPLETE-5D)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from mailflip.domain import actions as act
from mailflip.domain import outcomes, planner
from mailflip.domain import syncs as chain
from mailflip.domain.lifecycle import Change
from mailflip.domain.names import Status

from .test_planner import COMPLETE, CUT, POC_DONE, T, state


def test_small_orders_keep_one_shard_and_big_ones_get_one_per_shard_size():
    assert chain.shard_count(3, 500, 1000) == 1
    assert chain.shard_count(chain.MAX_SHARD_WINDOW, 500, 1000) == 1
    assert chain.shard_count(10_000, 500, 1000) == 13  # 500 passes at once, 40 per shard
    assert chain.shard_count(20_000, 500, 1000) == 20
    assert chain.shard_count(0, 500, 1000) == 1


@given(st.integers(min_value=0, max_value=50_000), st.integers(min_value=1, max_value=2000),
       st.integers(min_value=1, max_value=5000))
def test_no_shard_runs_more_passes_than_a_workflow_task_can_take(n, window, size):
    shards = chain.shard_count(n, window, size)
    per = chain.shard_window(window, shards)
    assert 1 <= per <= chain.MAX_SHARD_WINDOW
    assert shards * size >= n  # no shard holds more than about `size` mailboxes
    assert per * shards >= min(window, n, chain.MAX_SHARD_WINDOW)


def test_a_mailbox_always_lands_in_the_same_shard_and_split_keeps_sources_parallel():
    boxes = [f"user{i}@contoso.com" for i in range(500)]
    sources = [f"u{i}@old.example" for i in range(500)]
    parts = chain.split(boxes, sources, 7)
    assert sorted(a for p in parts for a in p[0]) == sorted(boxes)
    for k, (mailboxes, srcs) in enumerate(parts):
        assert all(chain.shard_of(a, 7) == k for a in mailboxes)
        assert [sources[boxes.index(a)] for a in mailboxes] == srcs
    assert all(len(p[0]) > 40 for p in parts)  # spread, not all in one
    assert chain.split(["a@x.com"], [], 3)[chain.shard_of("a@x.com", 3)] == (["a@x.com"], [])
    assert chain.shard_of("user1@contoso.com", 7) == 1  # stable: crc32, not hash()


def test_r_complete_5d_waits_for_every_shard_to_settle():
    s = state(Status.SWEEPING, verified=True)
    s.syncs_started, s.syncs_shards = True, 3
    at = CUT + timedelta(days=5)
    outcomes.syncs_reported(Change(s, at, T), [], [], True, shard=0)
    outcomes.syncs_reported(Change(s, at, T), [], [], True, shard=2)
    assert not s.syncs_settled and POC_DONE not in planner.due(s, at, T)
    outcomes.syncs_reported(Change(s, at, T), [], [], True, shard=2)  # said twice
    assert not s.syncs_settled
    outcomes.syncs_reported(Change(s, at, T), [], [], True, shard=1)
    assert s.syncs_settled
    assert [i for i in planner.due(s, at, T) if planner.is_pure(i)] == [POC_DONE, COMPLETE]


def test_rerun_sync_unsettles_only_the_mailboxs_shard():
    s = state(Status.SWEEPING, verified=True)
    box = s.mailboxes["ann@contoso.com"]
    box.sync_started = True
    s.syncs_started, s.syncs_shards = True, 4
    for k in range(4):
        outcomes.syncs_reported(Change(s, CUT, T), [], [], True, shard=k)
    assert s.syncs_settled
    act.check_rerun_sync(s, CUT, T, "support", box.address, "sweep").apply(Change(s, CUT, T))
    mine = chain.shard_of(box.address, 4)
    assert not s.syncs_settled and s.settled_shards == [k for k in range(4) if k != mine]
    outcomes.syncs_reported(Change(s, CUT, T), [], [], True, shard=mine)
    assert s.syncs_settled
