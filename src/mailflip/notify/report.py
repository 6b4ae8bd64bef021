"""The order's reconciliation report (R-RECONCILE) as a document: data (JSON-ready) and
HTML, from the store's reconciliation log. `mailflip orders report` prints it; the
completion email to the partner carries it as an attachment. Kept after completion.

Per mailbox, its latest reconciliation: grade, source messages and bytes, present at the
target, the skipped messages (each with its reason) and the missing ones, listed by
folder, date, size and Message-ID (subjects only when the order's report_subjects
setting was on when they were reconciled)."""

from __future__ import annotations

import csv
import io
from typing import Any

from jinja2 import Environment, StrictUndefined

from mailflip.store.repositories import SqlStore

HTML = Environment(autoescape=True, undefined=StrictUndefined).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Reconciliation of {{ r.order_id }}</title>
<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}
.gaps{color:#b00020}.skipped{color:#8a6d00}.complete{color:#1b5e20}</style></head><body>
<h1>Reconciliation of order {{ r.order_id }}</h1>
<p>{{ r.summary }}</p>
<table><thead><tr><th>mailbox</th><th>after pass</th><th>at (UTC)</th><th>grade</th>
<th>source</th><th>source bytes</th><th>at the target</th><th>skipped</th><th>missing</th>
</tr></thead><tbody>
{% for m in r.mailboxes %}<tr class="{{ m.grade }}"><td>{{ m.mailbox }}</td>
<td>{{ m.pass }}</td><td>{{ m.at }}</td><td>{{ m.grade }}</td><td>{{ m.source }}</td>
<td>{{ m.source_bytes }}</td><td>{{ m.target }}</td><td>{{ m.skipped }}</td>
<td>{{ m.missing }}</td></tr>
{% endfor %}</tbody></table>
{% for m in r.mailboxes if m.absent %}
<h2>{{ m.mailbox }}: {{ m.skipped }} skipped, {{ m.missing }} missing</h2>
<table><thead><tr><th>folder</th><th>date</th><th>size</th><th>Message-ID</th>
{% if r.subjects %}<th>subject</th>{% endif %}<th>why</th></tr></thead><tbody>
{% for a in m.absent %}<tr><td>{{ a.folder }}</td><td>{{ a.date }}</td><td>{{ a.size }}</td>
<td>{{ a.message_id }}</td>{% if r.subjects %}<td>{{ a.subject }}</td>{% endif %}
<td>{{ a.reason or "missing" }}</td></tr>
{% endfor %}</tbody></table>
{% endfor %}</body></html>
""")


def order_report(store: SqlStore, order_id: str) -> dict[str, Any]:
    """Raises InvalidInput (field order_id) for an order the store does not know."""
    store.get_order(order_id)
    boxes = []
    for row in store.reconciliations(order_id):
        boxes.append({
            "mailbox": row.mailbox, "pass": row.pass_name,
            "at": row.at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            **row.result.to_dict()})
    grades = [m["grade"] for m in boxes]
    summary = (f"{len(boxes)} mailboxes reconciled: " + ", ".join(
        f"{grades.count(g)} {g}" for g in ("complete", "skipped", "gaps"))) if boxes else \
        "no mailbox reconciled yet (reconciliation runs after every pass from the final one)"
    return {"order_id": order_id, "summary": summary, "mailboxes": boxes}


def html_report(r: dict[str, Any]) -> str:
    mailboxes = [{**m, "absent": m["skipped_messages"] + m["missing_messages"]}
                 for m in r["mailboxes"]]
    subjects = any(a["subject"] for m in mailboxes for a in m["absent"])
    return HTML.render(r={**r, "mailboxes": mailboxes, "subjects": subjects})


CSV_COLUMNS = ("mailbox", "pass", "at", "grade", "source", "source_bytes", "target",
               "skipped", "missing")


def csv_report(r: dict[str, Any]) -> str:
    """One row per mailbox, then one per absent message (skipped or missing)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    for m in r["mailboxes"]:
        w.writerow([m[c] for c in CSV_COLUMNS])
    w.writerow([])
    w.writerow(("mailbox", "folder", "date", "size", "message_id", "why"))
    for m in r["mailboxes"]:
        for a in m["skipped_messages"] + m["missing_messages"]:
            w.writerow((m["mailbox"], a["folder"], a["date"], a["size"], a["message_id"],
                        a["reason"] or "missing"))
    return out.getvalue()
