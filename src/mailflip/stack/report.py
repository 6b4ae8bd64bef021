"""The reconciliation report (notify/report.py) as a table for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from mailflip.notify.report import html_report, order_report

__all__ = ["html_report", "order_report", "print_report"]

GRADE_STYLE = {"complete": "green", "skipped": "yellow", "gaps": "bold red"}


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
    for m in r["mailboxes"]:
        absent = m["skipped_messages"] + m["missing_messages"]
        if absent:
            console.print(f"\n[bold]{m['mailbox']}[/]: {m['skipped']} skipped, "
                          f"{m['missing']} missing")
            print_absent(absent, console)


def print_absent(absent: list[dict[str, Any]], console: Console) -> None:
    """Skipped and missing messages: folder, date, size, Message-ID, (subject), why."""
    subjects = any(a["subject"] for a in absent)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for col in ("folder", "date", "size", "Message-ID", *(("subject",) if subjects else ()),
                "why"):
        table.add_column(col, justify="right" if col == "size" else "left")
    for a in absent:
        why = a["reason"] or "missing"
        table.add_row(a["folder"], a["date"], str(a["size"]), a["message_id"] or "(none)",
                      *((a["subject"],) if subjects else ()), why,
                      style="yellow" if a["reason"] else "bold red")
    console.print(table)
