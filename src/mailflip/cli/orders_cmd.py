"""`mailflip orders ...`: create orders, act on them, and look at them.

Actions go to the order's workflow (Temporal Updates: refused actions change nothing);
`show` and `list` read the store the workflows mirror to, never workflow history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer

from mailflip.cli.app import app, console
from mailflip.domain.names import Role

T = TypeVar("T")

orders = typer.Typer(
    name="orders",
    no_args_is_help=True,
    short_help="Create, place, change, cancel and inspect migration orders.",
    help="Create migration orders, act on them (place, cutover, cancel, release a hold, "
    "rerun a CTP) and look at them. Talks to the Temporal cluster in MAILFLIP_TEMPORAL_* "
    "(default localhost:7233, what `mailflip up` starts) and reads the store in "
    "MAILFLIP_DATABASE_URL. A worker (`mailflip up` or `mailflip worker`) must be running "
    "for orders to move.",
)
app.add_typer(orders, name="orders")

out = console()
err = console(stderr=True)
_api: dict[str, str] = {}  # --api URL and its token: the commands go through the REST API


@orders.callback()
def orders_options(
    api: str | None = typer.Option(None, "--api", envvar="MAILFLIP_API_URL", metavar="URL",
                                   help="Act through the portal's REST API at URL (e.g. "
                                   "http://127.0.0.1:8080) instead of Temporal and the "
                                   "store: one front door for automation."),
    token: str | None = typer.Option(None, "--token", envvar="MAILFLIP_API_TOKEN",
                                     metavar="TOKEN", show_default=False,
                                     help="The API token (made in the portal under API "
                                     "tokens). Prefer MAILFLIP_API_TOKEN: a command line "
                                     "is visible to other users of the machine."),
) -> None:
    if api:
        if not token:
            _bad_input("--token: the API needs a token (MAILFLIP_API_TOKEN)")
        if not api.startswith(("http://", "https://")):
            _bad_input(f"--api: {api!r} is not an http:// or https:// URL")
        _api.update(url=api.rstrip("/"), token=token)


def _call(method: str, path: str, **kwargs: Any) -> Any:
    """One API request; exits as the Temporal path does: 2 naming the field for bad
    input or an unknown order, 1 when refused or unreachable."""
    import httpx

    try:
        with httpx.Client(base_url=_api["url"], timeout=120, headers={
                "Authorization": f"Bearer {_api['token']}"}) as client:
            r = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        err.print(f"[bold red]cannot reach the API[/] at {_api['url']}: {type(exc).__name__}")
        _exit(1)
    try:
        body = r.json()
    except ValueError:
        body = {}
    error = body.get("error", r.text[:200]) if isinstance(body, dict) else r.text[:200]
    if r.status_code == 422:
        _bad_input(f"{body.get('field') or 'input'}: {error}")
    if r.status_code == 404:
        _bad_input(f"order_id: {error}")
    if r.status_code in (401, 403) or r.status_code >= 500:
        err.print(f"[bold red]API error {r.status_code}:[/] {error}")
        _exit(1)
    return r


def _api_act(order_id: str, label: str, path: str, body: dict[str, Any] | None = None,
             method: str = "POST") -> NoReturn:
    r = _call(method, f"/api/orders/{order_id}/{path}", json=body or {})
    if r.status_code == 409:
        err.print(f"[bold red]refused:[/] {label} {order_id}: {r.json()['error']}")
        _exit(1)
    out.print(f"[green]accepted:[/] {label} {order_id}")
    _exit(0)


BY_PARTNER = typer.Option(Role.PARTNER, "--by", help="Who acts: partner or support.")
BY_SUPPORT = typer.Option(Role.SUPPORT, "--by", help="Who acts (only support may).")
ORDER_ID = typer.Argument(..., metavar="ID", help="The order id, e.g. ord-1a2b3c4d "
                          "(`mailflip orders list` shows them).")
WHEN_HELP = ("ISO 8601 with a zone (2026-12-01T09:00:00Z) or an offset from now "
             "(+3d, +36h, +2d4h)")


def _exit(code: int) -> NoReturn:
    from mailflip.simulate.runner import exit_now

    exit_now(code)
    raise SystemExit(code)  # not reached


def _bad_input(field_message: str) -> NoReturn:
    err.print(f"[bold red]invalid input:[/] {field_message}")
    _exit(2)


def _with_client(run: Callable[[Any], Awaitable[T]]) -> T:
    """Connect to the cluster in the settings, run, and map connection trouble to exit 1."""
    from temporalio.service import RPCError, RPCStatusCode

    from mailflip.config import get_settings
    from mailflip.stack.worker import connect

    settings = get_settings()

    async def go() -> T:
        try:
            client = await connect(settings)
        except RuntimeError as exc:
            err.print(f"[bold red]cannot reach Temporal[/] at {settings.temporal_address} "
                      f"(namespace {settings.temporal_namespace}): {exc}\n"
                      "Is `mailflip up` running? Elsewhere, set MAILFLIP_TEMPORAL_ADDRESS.")
            _exit(1)
        return await run(client)

    try:
        return asyncio.run(go())
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            _bad_input("order_id: no such order on the Temporal cluster")
        err.print(f"[bold red]Temporal error:[/] {exc}")
        _exit(1)


def _act(order_id: str, label: str, update: Any, arg: Any) -> NoReturn:
    from mailflip.lifecycle.client import act
    from mailflip.stack.orders import order_handle

    async def run(client: Any) -> str | None:
        return await act(order_handle(client, order_id), update, arg)

    refusal = _with_client(run)
    if refusal is None:
        out.print(f"[green]accepted:[/] {label} {order_id}")
        _exit(0)
    err.print(f"[bold red]refused:[/] {label} {order_id}: {refusal}")
    _exit(1)


def _when(field: str, text: str) -> datetime:
    from mailflip.errors import InvalidInput
    from mailflip.stack.orders import parse_when

    try:
        return parse_when(field, text, datetime.now(UTC))
    except InvalidInput as exc:
        _bad_input(str(exc))


@orders.command("create")
def create_cmd(
    file: Path = typer.Argument(..., metavar="FILE.yaml", help="The order: an `order:` "
                                "section as in SCENARIOS.md (`mailflip orders example` "
                                "prints one to start from)."),
) -> None:
    """Create an order from a YAML file and print its id (status "Saved in Website").

    `mailflip orders place ID` places it. An invalid file exits 2 naming the field, and
    nothing is created."""
    if _api:
        from mailflip.errors import InvalidInput
        from mailflip.simulate.scenario import read_section

        try:
            raw = read_section(file, "order")
        except InvalidInput as exc:
            _bad_input(str(exc))
        plain = json.loads(json.dumps(raw, default=lambda v: v.isoformat()))
        out.print(_call("POST", "/api/orders", json=plain).json()["order_id"])
        _exit(0)
    from mailflip.config import get_settings
    from mailflip.errors import InvalidInput
    from mailflip.stack.orders import engine_settings, load_order, start_order

    settings = get_settings()
    try:
        spec = load_order(file, time_scale=settings.time_scale)
    except InvalidInput as exc:
        _bad_input(str(exc))

    async def run(client: Any) -> str:
        return await start_order(client, settings.task_queue, spec, engine_settings(settings))

    order_id = _with_client(run)
    out.print(order_id)
    _exit(0)


@orders.command("example")
def example_cmd() -> None:
    """Print an example order file (save it, edit it, then `mailflip orders create`)."""
    from mailflip.stack.demo_order import DEMO_ORDER_YAML

    typer.echo(DEMO_ORDER_YAML, nl=False)


@orders.command("place")
def place_cmd(order_id: str = ORDER_ID, by: Role = BY_PARTNER) -> None:
    """Place a saved order: its background work (CTPs) starts. Refused (exit 1, reason
    printed) if the order is not in "Saved in Website" or its cutover is too close."""
    from mailflip.lifecycle.order.messages import ActionInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow

    if _api:
        _api_act(order_id, "place", "place")
    _act(order_id, "place", OrderWorkflow.place, ActionInput(by.value))


@orders.command("cutover")
def cutover_cmd(
    order_id: str = ORDER_ID,
    when: str = typer.Argument(..., metavar="WHEN", help=f"The new cutover: {WHEN_HELP}."),
    by: Role = BY_PARTNER,
) -> None:
    """Move the order's cutover (migration date). Refused inside the 4 h lock window
    for partners, while on hold, or after the cutover passed."""
    from mailflip.lifecycle.order.messages import ChangeCutoverInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow

    if _api:
        _api_act(order_id, "change cutover of", "cutover", {"cutover": when})
    at = _when("cutover", when)
    _act(order_id, "change cutover of", OrderWorkflow.change_cutover,
         ChangeCutoverInput(at, by.value))


@orders.command("cancel")
def cancel_cmd(order_id: str = ORDER_ID, by: Role = BY_PARTNER) -> None:
    """Cancel an order (allowed up to "Waiting For Migration Date"): syncs stop, the
    service account is removed, nothing more runs. Cannot be undone."""
    from mailflip.lifecycle.order.messages import ActionInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow

    if _api:
        _api_act(order_id, "cancel", "cancel")
    _act(order_id, "cancel", OrderWorkflow.cancel, ActionInput(by.value))


@orders.command("release-hold")
def release_hold_cmd(
    order_id: str = ORDER_ID,
    cutover: str | None = typer.Option(None, "--cutover", metavar="WHEN",
                                       help=f"A new cutover, when the hold needs one: "
                                       f"{WHEN_HELP}."),
    by: Role = BY_SUPPORT,
) -> None:
    """Support releases an order's hold (e.g. vanity_domain_unverified once the domain
    verifies), usually with a new cutover at least 48 h out."""
    from mailflip.lifecycle.order.messages import ReleaseHoldInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow

    if _api:
        _api_act(order_id, "release hold of", "release-hold", {"cutover": cutover})
    at = _when("cutover", cutover) if cutover is not None else None
    _act(order_id, "release hold of", OrderWorkflow.release_hold, ReleaseHoldInput(at, by.value))


@orders.command("rerun")
def rerun_cmd(
    order_id: str = ORDER_ID,
    ctp: str = typer.Argument(..., metavar="CTP", help='The CTP\'s exact name, quoted, e.g. '
                              '"Create Mailboxes" (`mailflip orders show ID` lists them).'),
    by: Role = BY_SUPPORT,
) -> None:
    """Support reruns a CTP of the order (safe: every CTP is idempotent), e.g. after a
    fix in the tenant."""
    from mailflip.errors import InvalidInput
    from mailflip.lifecycle.order.messages import RerunCtpInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow
    from mailflip.stack.orders import check_ctp

    try:
        name = check_ctp(ctp)
    except InvalidInput as exc:
        _bad_input(str(exc))
    if _api:
        _api_act(order_id, f"rerun {name!r} of", "rerun-ctp", {"ctp": name})
    _act(order_id, f"rerun {name!r} of", OrderWorkflow.rerun_ctp, RerunCtpInput(name, by.value))


@orders.command("rerun-sync")
def rerun_sync_cmd(
    order_id: str = ORDER_ID,
    mailbox: str = typer.Argument(..., metavar="MAILBOX", help="The target mailbox address."),
    pass_name: str | None = typer.Option(None, "--pass", metavar="PASS",
                                         help="initial, resync, final, delta or sweep "
                                         "(default: the mailbox's last failed pass)."),
    by: Role = BY_SUPPORT,
) -> None:
    """Support runs one mailbox's sync pass again now (R-SYNC-FAILED); its sync_failed
    task is resolved. Partners are refused: ask support."""
    from mailflip.lifecycle.order.messages import RerunSyncInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow

    if _api:
        _api_act(order_id, f"rerun sync of {mailbox} in", "rerun-sync",
                 {"mailbox": mailbox, "pass_name": pass_name})
    _act(order_id, f"rerun sync of {mailbox} in", OrderWorkflow.rerun_sync,
         RerunSyncInput(mailbox, pass_name, by.value))


@orders.command("resolve-task")
def resolve_task_cmd(
    order_id: str = ORDER_ID,
    code: str = typer.Argument(..., metavar="CODE", help="The task code, e.g. sync_failed."),
    subject: str = typer.Argument(..., metavar="SUBJECT",
                                  help="What the task is about (a mailbox or domain)."),
    reason: str = typer.Option(..., "--reason", metavar="TEXT",
                               help="Why it is resolved (kept in the order's timeline)."),
    by: Role = BY_SUPPORT,
) -> None:
    """Support closes an open task by hand, e.g. accepting that a mailbox's mail is lost
    at the source; the reason is recorded. Partners are refused."""
    from mailflip.lifecycle.order.messages import ResolveTaskInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow

    if _api:
        _api_act(order_id, f"resolve {code} task of", "resolve-task",
                 {"code": code, "subject": subject, "reason": reason})
    _act(order_id, f"resolve {code} task of", OrderWorkflow.resolve_task,
         ResolveTaskInput(code, subject, reason, by.value))


def _store() -> Any:
    from mailflip.config import get_settings
    from mailflip.store.repositories import create_store

    return create_store(get_settings().database_url)


@orders.command("show")
def show_cmd(
    order_id: str = ORDER_ID,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """One order as the store has it: status, hold, cutover (customer time and UTC),
    CTP runs, open tasks, alerts and the last 20 timeline events."""
    from mailflip.errors import InvalidInput
    from mailflip.stack.views import order_detail, print_order

    if _api:
        detail = _call("GET", f"/api/orders/{order_id}").json()
        if as_json:
            typer.echo(json.dumps(detail, ensure_ascii=False, indent=2))
        else:
            print_order(detail, out)
        return
    store = _store()
    try:
        detail = order_detail(store, order_id)
    except InvalidInput as exc:
        _bad_input(f"{exc} (a new order appears once a worker picked it up: is "
                   "`mailflip up` or `mailflip worker` running?)")
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(detail, ensure_ascii=False, indent=2))
    else:
        print_order(detail, out)


@orders.command("dns")
def dns_cmd(
    order_id: str = ORDER_ID,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The order's vanity domains in DNS now, asked through the DNS adapter's resolver
    (MAILFLIP_DNS_SERVER, or the system's): MX, which gates Updating MX Record, and
    autodiscover and SPF, advice for the partner that gates nothing."""
    import asyncio

    from mailflip.config import get_settings
    from mailflip.dns.resolver import DnsResolver, DnsUnavailable
    from mailflip.errors import InvalidInput
    from mailflip.stack.views import dns_report, print_dns_report

    store = _store()
    try:
        rows = asyncio.run(dns_report(store, order_id,
                                      DnsResolver(get_settings().dns_server)))
    except InvalidInput as exc:
        _bad_input(str(exc))
    except DnsUnavailable as exc:
        typer.echo(f"error: DNS did not answer: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        print_dns_report(rows, out)


@orders.command("report")
def report_cmd(
    order_id: str = ORDER_ID,
    fmt: str = typer.Option("table", "--format", help="table, json or html."),
) -> None:
    """The order's reconciliation (R-RECONCILE): per mailbox, its latest grade
    (complete, skipped, gaps), source messages, present at the target, skipped and
    missing. Kept after the order completes."""
    from mailflip.errors import InvalidInput
    from mailflip.stack.report import html_report, order_report, print_report

    if fmt not in ("table", "json", "html"):
        _bad_input("--format: must be table, json or html")
    if _api:
        r = _call("GET", f"/api/orders/{order_id}/report",
                  params={"format": "html" if fmt == "html" else "json"})
        if fmt == "html":
            typer.echo(r.text)
        elif fmt == "json":
            typer.echo(json.dumps(r.json(), ensure_ascii=False, indent=2))
        else:
            print_report(r.json(), out)
        return
    store = _store()
    try:
        report = order_report(store, order_id)
    except InvalidInput as exc:
        _bad_input(str(exc))
    finally:
        store.close()
    if fmt == "json":
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    elif fmt == "html":
        typer.echo(html_report(report))
    else:
        print_report(report, out)


@orders.command("list")
def list_cmd(
    status: str | None = typer.Option(None, "--status", help='Only orders in this status, '
                                      'e.g. "Waiting For Migration Date".'),
    limit: int = typer.Option(50, "--limit", help="At most this many (1-500)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Orders in the store, most recently updated first."""
    from mailflip.errors import InvalidInput
    from mailflip.stack.views import order_summary, print_orders

    if _api:
        params: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
        rows = _call("GET", "/api/orders", params=params).json()["orders"]
        if as_json:
            typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        else:
            print_orders(rows, out)
        return
    store = _store()
    try:
        rows = [order_summary(o) for o in store.list_orders(limit=limit, status=status)]
    except InvalidInput as exc:
        _bad_input(str(exc))
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print_orders(rows, out)


class CredentialKind(StrEnum):
    tenant = "tenant"
    source = "source"


@orders.command("credentials")
def credentials_cmd(
    order_id: str = ORDER_ID,
    kind: CredentialKind = typer.Option(..., "--kind", help="tenant: the Microsoft 365 "
                                        "tenant's app credentials; source: the source "
                                        "host's admin/master login."),
    file: Path = typer.Option(..., "--file", metavar="SECRET.yaml", help="A YAML mapping "
                              "of strings, e.g. {tenant_id: ..., client_id: ..., "
                              "client_secret: ...} or {username: ..., password: ...}."),
    by: Role = BY_PARTNER,
) -> None:
    """Store (encrypted) new credentials for the order, then tell it: a Setup Office 365
    Account that failed on bad credentials reruns. The secret is never printed, never
    enters workflow history, and is purged when the order completes."""
    import yaml

    from mailflip.lifecycle.order.messages import ActionInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow

    try:
        secret = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        _bad_input(f"file: cannot read {file}: {type(exc).__name__}")
    if not isinstance(secret, dict) or not secret or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in secret.items()):
        _bad_input("file: must be a non-empty mapping of names to non-empty strings")
    if _api:
        _api_act(order_id, f"{kind.value} credentials for", f"credentials/{kind.value}",
                 {"values": secret}, method="PUT")
    from mailflip.errors import InvalidInput

    try:
        _store().save_credentials(order_id, kind.value, secret)
    except InvalidInput as exc:
        _bad_input(str(exc))
    _act(order_id, f"{kind.value} credentials for", OrderWorkflow.update_credentials,
         ActionInput(by.value))


@orders.command("agents")
def agents_cmd(
    order_id: str = ORDER_ID,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The order's end users' desktop agents as R-READINESS-4H sees them now (ready,
    not ready and why, missing), their PCs, last contact, and the flip and stop commands
    with their acknowledgements."""
    from datetime import UTC, datetime

    from mailflip.errors import InvalidInput
    from mailflip.stack.views import agents_report, print_agents_report

    store = _store()
    try:
        rows = agents_report(store, order_id, datetime.now(UTC))
    except InvalidInput as exc:
        _bad_input(str(exc))
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        print_agents_report(rows, out)
