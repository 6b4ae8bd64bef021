"""Throttling, dropped connections, lost APPEND replies, no UIDPLUS: via a fault proxy."""

from __future__ import annotations

import re
import time

import pytest

from mailflip.sync import Ledger, PassOptions, run_pass
from mailflip.sync.ledger import INTENT
from tests.sync.mail import ids_by_folder, make_msg, put, snapshot
from tests.sync.proxy import FaultProxy, Rule

FAST = PassOptions(batch_messages=5, backoff_base_s=0.05, connections=2)


@pytest.fixture
def proxy(dovecot):
    p = FaultProxy((dovecot.host, dovecot.port))
    yield p
    p.close()


def _assert_exact_copy(dovecot, src, dst):
    want = ids_by_folder(snapshot(dovecot, src, bodies=False))
    got = ids_by_folder(snapshot(dovecot, dst, bodies=False))
    assert got == want  # same folders, same Message-ID multiset: no loss, no duplicate


def test_throttle_reply_waits_at_least_the_suggested_backoff_and_fails_nothing(
    dovecot, account, proxy, state_dir
):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(12)]})
    proxy.rules.append(
        Rule(
            re.compile(rb"^UID FETCH .*BODY\.PEEK\[\]", re.I),
            b"{tag} BAD Request is throttled. Suggested Backoff Time: 400 milliseconds",
            times=2,
        )
    )
    started = time.monotonic()
    report = run_pass(proxy.url(src), dovecot.url(dst), state_dir, options=FAST)
    assert time.monotonic() - started >= 0.4
    assert report.throttled == 2 and report.reconnects >= 2
    assert report.messages_copied == 12 and report.item_errors == []
    _assert_exact_copy(dovecot, src, dst)


def test_unavailable_and_bye_replies_reconnect_and_resume(dovecot, account, proxy, state_dir):
    src, dst = account("src"), account("dst")
    put(
        dovecot,
        src,
        {"INBOX": [make_msg(i) for i in range(8)], "Work": [make_msg(20 + i) for i in range(4)]},
    )
    proxy.rules += [
        Rule(
            re.compile(rb"^(SELECT|EXAMINE) ", re.I),
            b"{tag} NO [UNAVAILABLE] Temporary server failure",
            times=2,
        ),
        Rule(re.compile(rb"^STATUS ", re.I), b"* BYE Connection closed. 14", times=1),
    ]
    report = run_pass(dovecot.url(src), proxy.url(dst), state_dir, options=FAST)
    assert report.reconnects >= 3
    assert report.messages_copied == 12
    _assert_exact_copy(dovecot, src, dst)


def test_connection_lost_after_append_was_stored_leaves_no_duplicate(
    dovecot, account, proxy, state_dir
):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(20)]})
    proxy.swallow_append_ok = 3  # the server stored the batch; the client never hears OK
    report = run_pass(dovecot.url(src), proxy.url(dst), state_dir, options=FAST)
    assert proxy.swallowed == 3
    assert report.messages_copied == 20 and report.complete
    _assert_exact_copy(dovecot, src, dst)
    assert Ledger.open(state_dir).count(INTENT) == 0


def test_without_uidplus_appends_are_confirmed_by_message_id(dovecot, account, proxy, state_dir):
    src, dst = account("src"), account("dst")
    msgs = [make_msg(i) for i in range(6)] + [make_msg(7, message_id=None)]
    put(dovecot, src, {"INBOX": msgs})
    proxy.hide_uidplus = True
    proxy.swallow_append_ok = 1
    report = run_pass(dovecot.url(src), proxy.url(dst), state_dir, options=FAST)
    assert report.messages_copied == 7
    ledger = Ledger.open(state_dir)
    assert all(e.tgt_uid for e in ledger.entries("INBOX"))  # found by Message-ID / content hash
    again = run_pass(dovecot.url(src), proxy.url(dst), state_dir, options=FAST)
    assert again.messages_copied == 0
    _assert_exact_copy(dovecot, src, dst)


def test_persistent_outage_fails_the_pass_and_a_rerun_completes(dovecot, account, proxy, state_dir):
    from mailflip.sync import PassFailed

    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(10)]})
    proxy.rules.append(
        Rule(re.compile(rb"^(STATUS|LIST) ", re.I), b"{tag} NO [UNAVAILABLE] down", times=10**6)
    )
    opts = PassOptions(batch_messages=5, backoff_base_s=0.01, max_retries=2, connections=1)
    with pytest.raises(PassFailed) as failed:
        run_pass(dovecot.url(src), proxy.url(dst), state_dir, options=opts)
    assert failed.value.retryable and failed.value.report.messages_copied == 0
    report = run_pass(dovecot.url(src), dovecot.url(dst), state_dir, options=opts)
    assert report.messages_copied == 10
    _assert_exact_copy(dovecot, src, dst)


def test_message_the_target_refuses_is_an_item_error_not_a_failed_pass(
    dovecot, account, proxy, state_dir
):
    src, dst = account("src"), account("dst")
    bad = make_msg(3, tag="REFUSE-ME")
    put(
        dovecot,
        src,
        {"INBOX": [make_msg(i) for i in range(3)] + [bad] + [make_msg(10 + i) for i in range(4)]},
    )
    proxy.refuse_marker = b"REFUSE-ME"
    report = run_pass(dovecot.url(src), proxy.url(dst), state_dir, options=FAST)
    assert report.messages_copied == 7 and not report.complete
    assert [(e.message_id, "Maximum size" in e.reason) for e in report.item_errors] == [
        (bad.message_id, True)
    ]
    got = ids_by_folder(snapshot(dovecot, dst, bodies=False))["INBOX"]
    assert sum(got.values()) == 7 and max(got.values()) == 1
    assert Ledger.open(state_dir).count(INTENT) == 0
