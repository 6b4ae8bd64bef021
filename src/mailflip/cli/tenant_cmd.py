"""`mailflip tenant check`: the tenant pre-flight, go / no-go before an order is placed."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import typer

from .app import app, console

tenant = typer.Typer(help="A customer's Microsoft 365 tenant, as an order will use it.",
                     no_args_is_help=True)
app.add_typer(tenant, name="tenant")

ENV_CREDENTIALS = {"tenant_id": "MAILFLIP_M365_TENANT_ID",
                   "client_id": "MAILFLIP_M365_CLIENT_ID",
                   "client_secret": "MAILFLIP_M365_CLIENT_SECRET"}
STYLE = {"go": "green", "warn": "yellow", "no-go": "bold red"}


def _fail(text: str) -> None:
    typer.echo(f"error: {text}", err=True)
    raise typer.Exit(2)


def _credentials(file: Path | None, tenant_name: str) -> Any:
    """From the file, else from the environment; the secret is never printed."""
    import yaml

    from mailflip.tenant.auth import TenantCredentials

    if file is not None:
        try:
            given = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError) as exc:
            _fail(f"credentials: cannot read {file}: {type(exc).__name__}")
        if not isinstance(given, dict):
            _fail("credentials: must be a mapping with client_id and client_secret")
        source = {k: str(given.get(k) or "") for k in ENV_CREDENTIALS}
        where = {k: f"credentials: {k}" for k in ENV_CREDENTIALS}
    else:
        source = {k: os.environ.get(v, "") for k, v in ENV_CREDENTIALS.items()}
        where = ENV_CREDENTIALS
    for key in ("client_id", "client_secret"):
        if not source[key]:
            _fail(f"{where[key]} is missing (give --credentials FILE or set "
                  f"{ENV_CREDENTIALS['client_id']} and {ENV_CREDENTIALS['client_secret']})")
    return TenantCredentials(source["tenant_id"] or tenant_name, source["client_id"],
                             source["client_secret"])


@tenant.command("check")
def check_cmd(
    tenant_name: str = typer.Option(..., "--tenant", metavar="NAME.onmicrosoft.com",
                                    help="The tenant's initial domain."),
    order: Path | None = typer.Option(None, "--order", metavar="ORDER.yaml", help="An "
                                      "order file: its vanity domains and its users' "
                                      "licences are checked too."),
    credentials: Path | None = typer.Option(None, "--credentials", metavar="SECRET.yaml",
                                            help="tenant_id, client_id, client_secret (as "
                                            "for `mailflip orders credentials`); default: "
                                            "MAILFLIP_M365_TENANT_ID, _CLIENT_ID, "
                                            "_CLIENT_SECRET."),
    add_domains: bool = typer.Option(False, "--add-domains", help="Add the order's "
                                     "domains the tenant lacks, to show their TXT record "
                                     "now (Setup Office 365 Account would add them)."),
    as_json: bool = typer.Option(False, "--json", help="The report as JSON."),
) -> None:
    """Can an order run against this tenant? Sign-in, permissions, domains, licences,
    Exchange Online and IMAP, as a go / no-go table; exits 1 on no-go, 2 on bad input.
    It reads only (unless --add-domains)."""
    from mailflip.compose import check_tenant
    from mailflip.config import get_settings
    from mailflip.domain.validation import check_domain
    from mailflip.errors import InvalidInput
    from mailflip.stack.orders import load_order

    try:
        check_domain("tenant", tenant_name)
        spec = load_order(order) if order is not None else None
    except InvalidInput as exc:
        _fail(str(exc))
    creds = _credentials(credentials, tenant_name)
    report = asyncio.run(check_tenant(get_settings(), creds, tenant_name, spec,
                                      add_domains=add_domains))
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print(report)
    raise typer.Exit(0 if report.go else 1)


def _print(report: Any) -> None:
    from rich.table import Table

    table = Table(title=f"tenant {report.tenant}")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        verdict = check.verdict.value
        table.add_row(check.name, f"[{STYLE[verdict]}]{verdict}[/]", check.detail)
    out = console()
    out.print(table)
    out.print("[green]GO[/]: an order can run against this tenant" if report.go else
              "[bold red]NO-GO[/]: fix the no-go lines first")
