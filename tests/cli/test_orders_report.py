"""`mailflip orders report`: the order's reconciliation from the store (R-RECONCILE)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailflip.domain import actions as act
from mailflip.domain.model import OrderSpec, Poc, UserSpec
from mailflip.domain.reconcile import Absent, Reconciliation
from mailflip.store.repositories import create_store

from .cli import env_for, mailflip

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def seed(tmp_path: Path) -> None:
    spec = OrderSpec("acme", "Wingtip", Poc("Ola", "ola@wingtip.com"), T0 + timedelta(days=7),
                     "wingtip.onmicrosoft.com", vanity_domains=["wingtip.com"],
                     users=[UserSpec("Dee", "dee@wingtip.com", "dee@wingtip.com", "SPB")])
    state = act.init_state("ord-1", spec, T0)

    def rec(target: int, skipped: int, missing: int) -> Reconciliation:
        def absent(n: int, reason: str) -> list[Absent]:
            return [Absent("INBOX", "2024-01-02T03:04:05+00:00", 9_000 + i,
                           f"<m{i}.{reason or 'gap'}@wingtip.com>", reason) for i in range(n)]
        return Reconciliation(100, 4_000_000, target, absent(skipped, "target refused: too big"),
                              absent(missing, ""))

    store = create_store(f"sqlite:///{tmp_path}/mailflip.db")
    try:
        store.record(state, [])
        for hours, mailbox, pass_name, result in (
                (1, "eve@wingtip.com", "final", rec(98, 0, 2)),
                (2, "dee@wingtip.com", "final", rec(97, 3, 0)),
                (3, "eve@wingtip.com", "delta", rec(100, 0, 0))):
            store.save_reconciliation("ord-1", mailbox, pass_name,
                                      T0 + timedelta(days=7, hours=hours), result)
    finally:
        store.close()


def test_report_lists_each_mailboxs_latest_reconciliation(tmp_path: Path) -> None:
    seed(tmp_path)
    result = mailflip("orders", "report", "ord-1", "--format", "json", env=env_for(tmp_path))

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(m["mailbox"], m["pass"], m["grade"]) for m in report["mailboxes"]] == [
        ("dee@wingtip.com", "final", "skipped"), ("eve@wingtip.com", "delta", "complete")]
    assert report["summary"] == "2 mailboxes reconciled: 1 complete, 1 skipped, 0 gaps"
    dee = report["mailboxes"][0]
    assert [(a["message_id"], a["reason"]) for a in dee["skipped_messages"]][0] == (
        "<m0.target refused: too big@wingtip.com>", "target refused: too big")
    assert dee["source_bytes"] == 4_000_000 and dee["missing_messages"] == []
    table = mailflip("orders", "report", "ord-1", env=env_for(tmp_path))
    assert table.returncode == 0 and "dee@wingtip.com" in table.stdout
    assert "dee@wingtip.com: 3 skipped, 0 missing" in table.stdout
    assert "target refused: too big" in table.stdout
    html = mailflip("orders", "report", "ord-1", "--format", "html", env=env_for(tmp_path))
    assert html.returncode == 0 and "<td>skipped</td>" in html.stdout


def test_report_of_an_unknown_order_or_format_exits_2_naming_the_field(tmp_path: Path) -> None:
    seed(tmp_path)
    unknown = mailflip("orders", "report", "ord-404", env=env_for(tmp_path))
    assert unknown.returncode == 2 and "order_id" in unknown.stderr
    bad = mailflip("orders", "report", "ord-1", "--format", "pdf", env=env_for(tmp_path))
    assert bad.returncode == 2 and "--format" in bad.stderr
