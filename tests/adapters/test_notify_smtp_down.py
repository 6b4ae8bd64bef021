"""SMTP down for an hour of simulated time (Temporal's time-skipping server): the
notification activity is retried under its delivery policy while the server refuses
connections, and once it is back each email goes out once, with one Message-ID each."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.worker import Worker

from mailflip.domain.model import OrderSpec, OrderState, Poc
from mailflip.lifecycle.order import policies
from mailflip.lifecycle.order.activities import OrderActivities
from mailflip.lifecycle.order.messages import NotifyInput, Outgoing
from mailflip.localnet import free_port
from mailflip.notify.catcher import SmtpCatcher, caught
from mailflip.notify.links import Links
from mailflip.notify.outbox import OutboxNotifier
from mailflip.notify.outbox import Outgoing as Mail
from mailflip.notify.smtp import SmtpDeliver
from mailflip.simulate.runner import time_skipping
from mailflip.store.repositories import create_store

DOWN_FOR = timedelta(hours=1)
ITEMS = [Outgoing(f"user_switch|{u}@contoso.com|switch", "user_switch", f"{u}@contoso.com",
                  {"name": u.title()}) for u in ("ann", "bob", "cy")]


@workflow.defn(sandboxed=False)
class SendThem:
    @workflow.run
    async def run(self) -> float:
        began = workflow.now()
        await workflow.execute_activity_method(OrderActivities.send_notifications,
                                               NotifyInput("o1", ITEMS),
                                               **policies.DELIVERY.kwargs())
        return (workflow.now() - began).total_seconds()


class SmtpDownForAnHour:
    """The real SMTP delivery, refused (connection refused) for the first hour of the
    activity's simulated time."""

    def __init__(self, smtp: SmtpDeliver) -> None:
        self.smtp, self.first = smtp, None
        self.refused = 0

    async def __call__(self, out: Mail) -> None:
        now = activity.info().current_attempt_scheduled_time
        self.first = self.first or now
        if now - self.first < DOWN_FOR:
            self.refused += 1
            raise ConnectionRefusedError(f"[Errno 111] SMTP {self.smtp.host}:{self.smtp.port}")
        await self.smtp(out)


async def test_smtp_down_for_an_hour_then_each_email_goes_out_once(tmp_path: Path) -> None:
    store = create_store(f"sqlite:///{tmp_path / 'store.db'}", secret_key=None)
    spec = OrderSpec("acme", "Contoso", Poc("Pat", "pat@contoso.com"),
                     datetime(2027, 1, 1, tzinfo=UTC), "contoso.onmicrosoft.com")
    store.record(OrderState(order_id="o1", spec=spec), [])
    port, maildir = free_port(), tmp_path / "caught"
    catcher = SmtpCatcher(maildir, port=port).start()
    deliver = SmtpDownForAnHour(SmtpDeliver("127.0.0.1", port, "mailflip@localhost"))
    notifier = OutboxNotifier(store, deliver, Links(store, "k", "https://mf.example",
                                                    "https://agents.mf.example"))
    acts = OrderActivities(tenant=None, dns=None, agents=None,  # type: ignore[arg-type]
                           notifier=notifier, mirror=None)  # type: ignore[arg-type]
    try:
        async with time_skipping() as env:
            queue = f"smtp-down-{uuid.uuid4()}"
            async with Worker(env.client, task_queue=queue, workflows=[SendThem],
                              activities=[acts.send_notifications]):
                took = await env.client.execute_workflow(
                    SendThem.run, id=f"send-{uuid.uuid4()}", task_queue=queue)
    finally:
        catcher.stop()
        store.close()
    assert took >= DOWN_FOR.total_seconds() and deliver.refused >= 5  # retried all along
    mails = caught(maildir)
    assert sorted(m.to for m in mails) == ["ann@contoso.com", "bob@contoso.com",
                                           "cy@contoso.com"]
    assert all(n == 1 for n in Counter(str(m.message["Message-ID"]) for m in mails).values())
