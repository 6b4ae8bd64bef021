"""`mailflip orders show/list`: what the STORE says about orders (never workflow history),
as JSON-ready dicts and as Rich output for people."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mailflip.domain.names import Ctp
from mailflip.domain.timeline import iso_z_or_none as _iso
from mailflip.simulate.table import STYLE, describe
from mailflip.store.repositories import SqlStore
from mailflip.store.rows import OrderRow

TIMELINE_TAIL = 20
_CTP_ORDER = {c.value: i for i, c in enumerate(Ctp)}
STATE_STYLE = {"completed": "green", "running": "cyan", "failed": "bold red", "waiting": "dim"}


def local_time(at: datetime, time_zone: str) -> str:
    return at.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M %Z")


def order_summary(o: OrderRow) -> dict[str, Any]:
    return {
        "order_id": o.order_id, "customer": o.customer, "partner": o.partner,
        "status": o.status.value, "status_since": _iso(o.status_since),
        "on_hold": o.on_hold, "hold_reason": o.hold_reason, "hold_since": _iso(o.hold_since),
        "cancelled": o.cancelled, "completed": o.completed,
        "cutover": _iso(o.cutover), "time_zone": o.time_zone,
        "cutover_local": o.cutover.astimezone(ZoneInfo(o.time_zone)).isoformat(),
        "created_at": _iso(o.created_at), "placed_at": _iso(o.placed_at),
        "updated_at": _iso(o.updated_at),
    }


def order_detail(store: SqlStore, order_id: str, order: OrderRow | None = None
                 ) -> dict[str, Any]:
    """Everything `show` prints; raises InvalidInput('order_id') for an unknown order.
    `order`: its row, when the caller has just read it."""
    out = order_summary(order or store.get_order(order_id))
    ctps = sorted(store.ctp_runs(order_id), key=lambda r: _CTP_ORDER.get(r.name, 99))
    out["ctps"] = [{**asdict(r), "state": r.state.value, "started_at": _iso(r.started_at),
                    "ended_at": _iso(r.ended_at)} for r in ctps]
    out["tasks"] = [{**asdict(t), "opened_at": _iso(t.opened_at),
                     "resolved_at": _iso(t.resolved_at)} for t in store.tasks(order_id)]
    out["alerts"] = [{"code": a.code, "severity": a.severity, "at": _iso(a.at),
                      "detail": a.detail} for a in store.alerts(order_id)]
    passes: dict[str, list[dict[str, Any]]] = {}
    for p in store.passes(order_id):
        passes.setdefault(p.mailbox, []).append({
            "pass": p.pass_name, "state": p.state, "runs": p.runs, "messages": p.messages,
            "bytes": p.bytes, "errors": p.errors, "started_at": _iso(p.started_at),
            "ended_at": _iso(p.ended_at), "error": p.error,
            **(pass_progress(p.messages, p.messages_total, p.bytes, p.bytes_total,
                             p.started_at, p.ended_at) if p.state == "running" else {})})
    out["mailboxes"] = [{"address": m.address, "source": m.source, "kind": m.kind,
                         "created": m.created, "passes": passes.get(m.address, [])}
                        for m in store.mailboxes(order_id) if not m.removed]
    events = store.timeline(order_id)
    out["timeline_total"] = len(events)
    out["timeline"] = [e.to_json_obj() for e in events[-TIMELINE_TAIL:]]
    return out


def print_order(d: dict[str, Any], console: Console) -> None:
    status = Text(d["status"], style="bold cyan")
    if d["cancelled"]:
        status.append("  (cancelled)", style="bold red")
    cut = datetime.fromisoformat(d["cutover"].replace("Z", "+00:00"))
    facts = Table.grid(padding=(0, 2))
    facts.add_row("status", status)
    facts.add_row("since", _when(d["status_since"]))
    facts.add_row("hold", Text(f"ON HOLD: {d['hold_reason']} (since {_when(d['hold_since'])})",
                               style="bold yellow") if d["on_hold"] else Text("none"))
    facts.add_row("cutover", f"{local_time(cut, d['time_zone'])} ({d['time_zone']})"
                             f"  =  {_when(d['cutover'])} UTC")
    facts.add_row("partner", d["partner"])
    console.print(Panel(facts, title=f"{d['order_id']}  {d['customer']}", expand=False))

    ctps = Table(title="CTP runs", title_justify="left", box=None, header_style="bold")
    for col in ("CTP", "state", "runs", "attempts", "started (UTC)", "ended (UTC)", "error"):
        ctps.add_column(col)
    for r in d["ctps"]:
        ctps.add_row(r["name"], Text(r["state"], style=STATE_STYLE.get(r["state"], "")),
                     str(r["runs"]), str(r["attempts"]), _when(r["started_at"]),
                     _when(r["ended_at"]), r["error"] or "")
    console.print(ctps if d["ctps"] else Text("CTP runs: none yet", style="dim"))

    open_tasks = [t for t in d["tasks"] if t["state"] == "open"]
    console.print(_list("Open tasks", [f"{t['code']} {t['subject'] or ''} {t['detail']}".strip()
                                       for t in open_tasks], "yellow"))
    console.print(_list("Alerts", [f"[{a['severity']}] {a['code']} {_when(a['at'])} "
                                   f"{a['detail']}".strip() for a in d["alerts"]], "red"))

    print_mailboxes(d["mailboxes"], console)
    shown = len(d["timeline"])
    tl = Table(title=f"Timeline (last {shown} of {d['timeline_total']})", title_justify="left",
               box=None, header_style="bold")
    tl.add_column("when (UTC)", no_wrap=True)
    tl.add_column("kind", no_wrap=True)
    tl.add_column("what")
    for e in d["timeline"]:
        tl.add_row(_when(e["at"]), e["kind"], describe(e), style=STYLE.get(e["kind"], ""))
    console.print(tl)


MAILBOXES_SHOWN = 50


def pass_progress(messages: int, messages_total: int, size: int, size_total: int,
                  started: datetime | None, at: datetime) -> dict[str, Any]:
    """A running pass as people read it: of how many, bytes per second since it started
    (as of its last progress write), and the seconds left at that pace (None: unknown)."""
    seconds = (at - started).total_seconds() if started else 0.0
    rate = size / seconds if seconds > 0 else 0.0
    left = max(0, size_total - size)
    return {"messages_total": messages_total, "bytes_total": size_total,
            "bytes_per_s": round(rate), "eta_s": round(left / rate) if rate > 0 else None,
            "progress_at": _iso(at)}


def print_mailboxes(boxes: list[dict[str, Any]], console: Console) -> None:
    """Each mailbox with its passes: state, messages and bytes moved (the first 50)."""
    table = Table(title=f"Mailboxes ({len(boxes)})", title_justify="left", box=None,
                  header_style="bold")
    for col in ("mailbox", "in the tenant", "passes (messages, bytes)"):
        table.add_column(col)
    for m in boxes[:MAILBOXES_SHOWN]:
        done = Text()
        for p in m["passes"]:
            style = STATE_STYLE.get(p["state"], "")
            moved = f" {p['messages']} msgs, {p['bytes']:,} B" if p["state"] == "completed" \
                else ""
            if p["state"] == "running":
                eta = f", ETA {p['eta_s']} s" if p["eta_s"] is not None else ""
                moved = (f" {p['messages']}/{p['messages_total']} msgs, "
                         f"{p['bytes_per_s']:,} B/s{eta}")
            done.append(f"{p['pass']}: {p['state']}{moved}  ", style=style)
        table.add_row(m["address"], m["created"] or "not yet", done)
    if len(boxes) > MAILBOXES_SHOWN:
        table.add_row(f"... {len(boxes) - MAILBOXES_SHOWN} more (--json lists them all)", "", "")
    console.print(table if boxes else Text("Mailboxes: none", style="dim"))


def print_orders(rows: list[dict[str, Any]], console: Console) -> None:
    if not rows:
        console.print("No orders in the store yet. Create one with "
                      "`mailflip orders create FILE.yaml` (`mailflip orders example` "
                      "prints one).")
        return
    table = Table(box=None, header_style="bold")
    table.add_column("order", no_wrap=True)
    table.add_column("customer", min_width=8)
    table.add_column("status", min_width=12)
    table.add_column("hold")
    table.add_column("cutover (customer's)", no_wrap=True)
    table.add_column("updated (UTC)", no_wrap=True)
    for r in rows:
        cut = datetime.fromisoformat(r["cutover"].replace("Z", "+00:00"))
        status = r["status"] + (" (cancelled)" if r["cancelled"] else "")
        table.add_row(r["order_id"], r["customer"], status,
                      Text(r["hold_reason"] or "on hold", style="yellow") if r["on_hold"] else "",
                      local_time(cut, r["time_zone"]), _when(r["updated_at"])[:16])
    console.print(table)


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").rstrip("Z") if iso else "-"


def _list(title: str, items: list[str], style: str) -> Group | Text:
    if not items:
        return Text(f"{title}: none", style="dim")
    return Group(Text(title, style="bold"), *(Text(f"  {i}", style=style) for i in items))


async def dns_report(store: SqlStore, order_id: str, resolver: Any) -> list[dict[str, Any]]:
    """Per vanity domain of the order: what the order knows (verified, MX ok) and what
    DNS says now - MX (gates Updating MX Record, R-CTP-S7), autodiscover and SPF (advice
    for the partner: they do not gate). Raises InvalidInput('order_id') for an unknown
    order, DnsUnavailable when DNS does not answer."""
    from mailflip.domain.rules import (
        autodiscover_points_to_m365,
        mx_points_to_m365,
        spf_includes_m365,
    )

    store.get_order(order_id)
    out = []
    for d in store.domains(order_id):
        mx = await resolver.mx_hosts(d.name)
        cname = await resolver.cname(f"autodiscover.{d.name}")
        spf = await resolver.spf(d.name)
        out.append({"domain": d.name, "verified": d.verified, "mx_ok": d.mx_ok,
                    "mx": mx, "mx_to_m365": mx_points_to_m365(d.name, mx),
                    "autodiscover": cname,
                    "autodiscover_ok": autodiscover_points_to_m365(cname),
                    "spf": spf, "spf_ok": spf_includes_m365(spf)})
    return out


def print_dns_report(rows: list[dict[str, Any]], console: Console) -> None:
    from mailflip.domain.rules import M365_AUTODISCOVER, M365_SPF_INCLUDE

    table = Table(title="DNS (live)", title_justify="left", box=None, header_style="bold")
    for col in ("domain", "verified", "MX (gates cutover)", "autodiscover (advice)",
                "SPF (advice)"):
        table.add_column(col)

    def mark(ok: bool, text: str, fix: str) -> Text:
        return Text(f"ok  {text}", style="green") if ok else \
            Text(f"{text or 'none'}: {fix}", style="yellow")

    for r in rows:
        table.add_row(r["domain"], "yes" if r["verified"] else "no",
                      mark(r["mx_to_m365"], ", ".join(r["mx"]),
                           "point it to the host the tenant gives"),
                      mark(r["autodiscover_ok"], r["autodiscover"] or "",
                           f"CNAME autodiscover.{r['domain']} to {M365_AUTODISCOVER}"),
                      mark(r["spf_ok"], r["spf"] or "", f"add {M365_SPF_INCLUDE}"))
    console.print(table if rows else Text("DNS: the order has no vanity domains",
                                          style="dim"))


def agents_report(store: SqlStore, order_id: str, now: datetime) -> list[dict[str, Any]]:
    """Per end user of the order: their desktop agent as R-READINESS-4H sees it now
    (ready, not_ready with the reason, missing), when last heard from, and each command
    (flip, stop) with its acknowledgement. Raises InvalidInput('order_id') for an
    unknown order."""
    from mailflip.domain.agents import status

    store.get_order(order_id)
    seen = {a.address: a for a in store.agents(order_id)}
    commands: dict[str, list[dict[str, Any]]] = {}
    for c in store.commands(order_id):
        commands.setdefault(c.address, []).append({
            "kind": c.kind, "queued_at": _iso(c.created_at), "acked_at": _iso(c.acked_at),
            "result": c.result})
    out = []
    for m in store.mailboxes(order_id):
        if m.kind != "user" or m.removed:
            continue
        a = seen.get(m.address)
        out.append({
            "address": m.address,
            "status": status(a.readiness if a else None, a.last_seen if a else None, now),
            "reason": a.reason if a else "no agent has enrolled",
            "host": a.host if a else None,
            "last_seen": _iso(a.last_seen) if a else None,
            "report": a.report if a else None,
            "commands": commands.get(m.address, [])})
    return out


def print_agents_report(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Desktop agents", title_justify="left", box=None, header_style="bold")
    for col in ("user", "readiness", "PC", "last seen (UTC)", "commands"):
        table.add_column(col)
    style = {"ready": "green", "not_ready": "yellow", "missing": "red"}
    for r in rows:
        readiness = Text(r["status"], style=style[r["status"]])
        if r["status"] != "ready" and r["reason"]:
            readiness.append(f" ({r['reason']})")
        cmds = ", ".join(f"{c['kind']}: {c['result'] or 'waiting'}" for c in r["commands"])
        table.add_row(r["address"], readiness, r["host"] or "", r["last_seen"] or "", cmds)
    console.print(table if rows else Text("no end users", style="dim"))
