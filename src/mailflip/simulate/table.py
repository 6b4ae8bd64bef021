"""`--format table`: the timeline for people (Rich), one row per event."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

STYLE = {"status": "bold cyan", "alert": "bold red", "hold": "bold yellow", "task": "yellow",
         "email": "green", "action": "magenta", "end": "bold", "report": "blue"}


def describe(e: dict[str, Any]) -> str:
    k = e["kind"]
    if k == "status":
        return e["status"]
    if k == "ctp":
        return f"{e['ctp']}: {e['state']}" + (f" ({e['error']})" if e.get("error") else "")
    if k == "email":
        return f"{e['template']} -> {e['to']}"
    if k == "alert":
        return f"{e['code']} [{e['severity']}] {e.get('detail', '')}".rstrip()
    if k == "task":
        text = f"{e['code']} {e['subject'] or ''} {e['state']}".replace("  ", " ")
        if e.get("by"):
            text += f" by {e['by']}" + (f" ({e['reason']})" if e.get("reason") else "")
        return text
    if k == "report":
        return (f"{e['mailbox']} after {e['pass']}: {e['grade']} - {e['target']}/"
                f"{e['source']} at the target, {e['skipped']} skipped, {e['missing']} missing")
    if k == "hold":
        return ("on hold: " if e["on"] else "hold released: ") + str(e.get("reason", ""))
    if k == "sync":
        return f"{e['mailbox']} {e['pass']} {e['state']}"
    if k == "action":
        verdict = "accepted" if e["accepted"] else f"REFUSED: {e.get('error', '')}"
        return f"{e['action']} by {e['by']}: {verdict}"
    if k == "end":
        return (f"{e['status']}" + (" (on hold)" if e["on_hold"] else "")
                + (" (cancelled)" if e["cancelled"] else ""))
    return str(e)


def print_table(lines: list[dict[str, Any]], console: Console | None = None,
                show_syncs: bool = True) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("what")
    for e in lines:
        if e["kind"] == "sync" and not show_syncs:
            continue
        style = STYLE.get(e["kind"], "")
        table.add_row(e["at"].replace("T", " ").rstrip("Z"), e["kind"], describe(e), style=style)
    (console or Console()).print(table)
