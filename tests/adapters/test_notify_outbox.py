"""Notifications through the store's outbox to a real SMTP server process (aiosmtpd):
each key is delivered once, also when the activity is retried after a crash."""

from __future__ import annotations

import mailbox
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailflip.domain.model import OrderSpec, OrderState, Poc
from mailflip.domain.reconcile import Absent, Reconciliation
from mailflip.notify.links import Links
from mailflip.notify.outbox import OutboxNotifier, Outgoing
from mailflip.notify.smtp import SmtpDeliver
from mailflip.store.repositories import create_store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port, box = free_port(), tmp_path / "mbox"
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Mailbox", str(box)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = datetime.now(UTC) + timedelta(seconds=15)
    while datetime.now(UTC) < deadline:  # poll until it accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            try:  # not listening yet: give it a moment, unless it died
                proc.wait(0.05)
                raise AssertionError(proc.stderr.read() if proc.stderr else "aiosmtpd died")
            except subprocess.TimeoutExpired:
                pass
    try:
        yield port, box
    finally:
        proc.terminate()
        proc.wait(10)


GRADES = {"grades": {"skipped": 1}}


def delivered(box: Path) -> list[tuple[str, str, str]]:
    return [(m["To"], m["Subject"], m["Message-ID"]) for m in mailbox.Maildir(box)]


@pytest.fixture
def store(tmp_path: Path):
    s = create_store(f"sqlite:///{tmp_path / 'store.db'}")
    spec = OrderSpec("acme", "Contoso", Poc("Pat", "pat@contoso.com"),
                     datetime(2027, 1, 1, tzinfo=UTC), "contoso.onmicrosoft.com")
    s.record(OrderState(order_id="o1", spec=spec), [])
    return s


def notifier_over(store, deliver) -> OutboxNotifier:
    return OutboxNotifier(store, deliver, Links(store, "test-secret", "https://mf.example",
                                                "https://agents.mf.example"))


async def test_each_notification_key_is_delivered_once(store, smtp_server):
    port, box = smtp_server
    notifier = notifier_over(store, SmtpDeliver("127.0.0.1", port, "mailflip@localhost"))
    key = "user_switch|ann@contoso.com|switch"
    assert await notifier.send("o1", key, "user_switch", "ann@contoso.com", {"name": "Ann"})
    assert not await notifier.send("o1", key, "user_switch", "ann@contoso.com", {"name": "Ann"})
    mails = delivered(box)
    assert len(mails) == 1 and mails[0][:2] == ("ann@contoso.com",
                                            "Your mailbox has moved to Microsoft 365")
    assert [r.state for r in store.notifications("o1")] == ["sent"]


async def test_a_send_interrupted_before_marking_is_redelivered_with_the_same_message_id(
        store, smtp_server):
    port, box = smtp_server
    smtp = SmtpDeliver("127.0.0.1", port, "mailflip@localhost")
    calls: list[str] = []

    async def crash_after_delivery(out: Outgoing) -> None:
        await smtp(out)
        calls.append(out.key)
        raise ConnectionResetError("worker died before marking the outbox row")

    key = "poc_all_syncs_done|pat@contoso.com|all_syncs_done"
    with pytest.raises(ConnectionResetError):
        await notifier_over(store, crash_after_delivery).send(
            "o1", key, "poc_all_syncs_done", "pat@contoso.com", GRADES)
    assert [r.state for r in store.notifications("o1")] == ["pending"]
    retry = notifier_over(store, smtp)
    assert await retry.send("o1", key, "poc_all_syncs_done", "pat@contoso.com", GRADES)
    assert not await retry.send("o1", key, "poc_all_syncs_done", "pat@contoso.com", GRADES)
    ids = {m[2] for m in delivered(box)}
    assert len(delivered(box)) == 2 and len(ids) == 1  # receivers drop the copy by id
    assert [r.state for r in store.notifications("o1")] == ["sent"]


@pytest.mark.parametrize("template,to,trigger", [
    ("partner_migration_complete", "partner@acme.example", "complete"),
    ("poc_all_syncs_done", "pat@contoso.com", "all_syncs_done"),  # R-POC-DONE
])
async def test_r_reconcile_report_is_attached_to_the_completion_and_all_syncs_done_emails(
        store, smtp_server, template, to, trigger):
    port, box = smtp_server
    rec = Reconciliation(120, 4_800_000, 119, skipped=[Absent(
        "INBOX", "2024-03-07T09:05:03+00:00", 40_000_000, "<big@contoso.com>",
        "target refused: [LIMIT] Mail size is too large")])
    store.save_reconciliation("o1", "ann@contoso.com", "sweep", datetime(2027, 1, 4, tzinfo=UTC),
                              rec)
    notifier = notifier_over(store, SmtpDeliver("127.0.0.1", port, "mailflip@localhost"))
    key = f"{template}|{to}|{trigger}"
    assert await notifier.send("o1", key, template, to, {"mailboxes": 1, **GRADES})
    [mail] = list(mailbox.Maildir(box, factory=None))
    parts = {p.get_filename() or p.get_content_type(): p for p in mail.walk()
             if not p.is_multipart()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert "Reconciliation: 1 mailboxes reconciled: 0 complete, 1 skipped, 0 gaps" in text
    html = parts["reconciliation-o1.html"]
    assert html.get_filename() == "reconciliation-o1.html"
    page = html.get_payload(decode=True).decode()
    assert "ann@contoso.com" in page and "&lt;big@contoso.com&gt;" in page
    assert "Mail size is too large" in page


async def test_the_personal_link_is_delivered_but_never_kept_and_leads_back_to_the_user(
        store, smtp_server):
    port, box = smtp_server
    notifier = notifier_over(store, SmtpDeliver("127.0.0.1", port, "mailflip@localhost"))
    key = "user_gather_info|ann@contoso.com|gather"
    assert await notifier.send("o1", key, "user_gather_info", "Ann@Contoso.com", {"name": "Ann"})
    [mail] = list(mailbox.Maildir(box, factory=None))
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mail.walk()
             if not p.is_multipart()}
    token = notifier.links.token("gather", "o1", "ann@contoso.com")
    assert f"https://mf.example/u/{token}" in parts["text/plain"]
    assert f'href="https://mf.example/u/{token}"' in parts["text/html"]
    [kept] = store.notifications("o1")
    assert token not in kept.body and "(personal code, not kept)" in kept.body
    assert store.token_owner("gather", token) == ("o1", "ann@contoso.com")
    assert store.token_owner("agent", token) is None  # a token opens one door only
    with store.engine.connect() as conn:  # only its hash is stored
        assert token not in str(conn.exec_driver_sql("SELECT * FROM access_tokens").all())


async def test_an_email_for_an_order_not_mirrored_yet_waits_for_it(store, smtp_server):
    from mailflip.errors import NotYetDone

    port, box = smtp_server
    notifier = notifier_over(store, SmtpDeliver("127.0.0.1", port, "mailflip@localhost"))
    with pytest.raises(NotYetDone):
        await notifier.send("o2", "user_switch|ann@contoso.com|switch", "user_switch",
                            "ann@contoso.com", {"name": "Ann"})
    assert delivered(box) == [] and store.notifications("o2") == []
