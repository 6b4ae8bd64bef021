"""The order's reconciliation report (R-RECONCILE) as the store has it: each mailbox's
latest reconciliation, from the `report` events the syncs workflow mirrors. It is kept
after completion (the credentials are purged, the timeline is not).

Per mailbox: grade, source messages, present at the target, skipped, missing. The
per-message lists (folder, date, size, Message-ID, reason) are not stored yet."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, StrictUndefined
from rich.console import Console
from rich.table import Table

from mailflip.store.repositories import SqlStore

GRADE_STYLE = {"complete": "green", "skipped": "yellow", "gaps": "bold red"}

HTML = Environment(autoescape=True, undefined=StrictUndefined).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Reconciliation of {{ r.order_id }}</title></head><body>
<h1>Reconciliation of order {{ r.order_id }}</h1>
<p>{{ r.summary }}</p>
<table><thead><tr><th>mailbox</th><th>after pass</th><th>at (UTC)</th><th>grade</th>
<th>source</th><th>at the target</th><th>skipped</th><th>missing</th></tr></thead><tbody>
{% for m in r.mailboxes %}<tr><td>{{ m.mailbox }}</td><td>{{ m.pass }}</td><td>{{ m.at }}</td>
<td>{{ m.grade }}</td><td>{{ m.source }}</td><td>{{ m.target }}</td><td>{{ m.skipped }}</td>
<td>{{ m.missing }}</td></tr>
{% endfor %}</tbody></table></body></html>
""")


def order_report(store: SqlStore, order_id: str) -> dict[str, Any]:
    """Raises InvalidInput (field order_id) for an order the store does not know."""
    store.get_order(order_id)
    latest: dict[str, dict[str, Any]] = {}
    for e in store.timeline(order_id):
        if e.kind == "report":
            line = e.to_json_obj()
            latest[line["mailbox"]] = {k: line[k] for k in (
                "mailbox", "pass", "at", "grade", "source", "target", "skipped", "missing")}
    boxes = [latest[a] for a in sorted(latest)]
    grades = [m["grade"] for m in boxes]
    summary = (f"{len(boxes)} mailboxes reconciled: " + ", ".join(
        f"{grades.count(g)} {g}" for g in ("complete", "skipped", "gaps"))) if boxes else \
        "no mailbox reconciled yet (reconciliation runs after every pass from the final one)"
    return {"order_id": order_id, "summary": summary, "mailboxes": boxes}


def print_report(r: dict[str, Any], console: Console) -> None:
    console.print(r["summary"])
    if not r["mailboxes"]:
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("mailbox", "after", "grade", "source", "at target", "skipped", "missing"):
        table.add_column(col, justify="right" if col in ("source", "at target", "skipped",
                                                         "missing") else "left")
    for m in r["mailboxes"]:
        table.add_row(m["mailbox"], m["pass"], m["grade"], str(m["source"]), str(m["target"]),
                      str(m["skipped"]), str(m["missing"]), style=GRADE_STYLE[m["grade"]])
    console.print(table)


def html_report(r: dict[str, Any]) -> str:
    return HTML.render(r=r)
