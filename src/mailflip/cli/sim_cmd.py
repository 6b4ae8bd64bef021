"""`mailflip sim ...`: local stand-ins that speak the real protocols (Microsoft 365, DNS;
SMTP to come), for a whole order on one machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from .app import app

sim = typer.Typer(help="Local stand-ins for the outside world, speaking its protocols.",
                  no_args_is_help=True)
app.add_typer(sim, name="sim")


@sim.command("m365")
def m365_cmd(
    port: int = typer.Option(8365, "--port", min=1, max=65535),
    imap_port: int = typer.Option(8993, "--imap-port", min=0, max=65535,
                                  help="IMAP (TLS) port of the tenant's mailboxes, as "
                                  "outlook.office365.com:993 (needs Dovecot); 0: none."),
    host: str = typer.Option("127.0.0.1", "--host"),
    state: Path = typer.Option(Path("var/m365"), "--state", help="Certificate and tenant "
                               "credentials (made once, then reused)."),
    domain: str = typer.Option("contoso.onmicrosoft.com", "--domain",
                               help="The tenant's initial domain."),
    licences: int = typer.Option(25, "--licences", help="Units of O365_BUSINESS_PREMIUM."),
    dns: str = typer.Option("", "--dns", metavar="HOST:PORT", help="Where domain "
                            "verification looks up TXT records (e.g. `mailflip sim dns`); "
                            "unset: nothing verifies."),
    config: Path | None = typer.Option(None, "--config", metavar="FILE", exists=True,
                                       dir_okay=False, help="YAML with a `knobs:` "
                                       "mapping: how the tenant misbehaves (throttling, "
                                       "replication delays, lost responses, page size; "
                                       "see tenant/simulator/config.py). Unset: realistic "
                                       "defaults."),
    env_file: Path | None = typer.Option(None, "--env-file", metavar="FILE", help="Once "
                                         "serving, write the shell `export` lines of this "
                                         "tenant (endpoints, initial domain, app "
                                         "credentials) for `source FILE`; owner-only."),
) -> None:
    """A local Microsoft 365: sign-in, Graph v1.0 and Exchange Online on one https port,
    the mailboxes over IMAP on another, throttling and replication delays as the real
    service has them."""
    import asyncio
    import logging

    import yaml

    from mailflip.errors import InvalidInput, StackError
    from mailflip.stack.m365 import serving
    from mailflip.stack.worker import stop_on_signals
    from mailflip.tenant.simulator import no_dns
    from mailflip.tenant.simulator.config import knobs_from
    from mailflip.tenant.simulator.local import dns_resolver, prepare
    from mailflip.tenant.simulator.persist import write_private

    try:
        knobs = knobs_from(yaml.safe_load(config.read_text()) if config else None)
        local = prepare(state, host, port, initial_domain=domain, licences=licences,
                        resolver=dns_resolver(dns) if dns else no_dns, knobs=knobs,
                        imap_port=imap_port)
    except yaml.YAMLError as exc:
        typer.echo(f"error: {config}: not YAML: {exc}", err=True)
        raise typer.Exit(2) from None
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"local Microsoft 365 on {local.url}: tenant {domain}, {licences} licences"
               + (f", TXT lookups at {dns}" if dns else ", no DNS (domains do not verify)"))
    typer.echo("point a worker at it:\n  " + " ".join(local.settings_lines()))
    typer.echo("an order's tenant credentials (the secret is in the file, not shown):\n"
               f"  mailflip orders credentials ORDER --kind tenant --file {local.credentials}")
    typer.echo(f"the tenant as orders leave it: {local.url}/_sim/ (kept in {local.state_file})")
    if local.imap_url:
        typer.echo(f"its mailboxes over IMAP: {local.imap_url} (mail kept in {local.mail_dir})")

    imap_log = logging.getLogger("mailflip.sim.imap")  # who logged in, never a token
    imap_log.setLevel(logging.INFO)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s imap: %(message)s", "%H:%M:%S"))
    imap_log.addHandler(handler)

    async def main() -> None:
        stop = stop_on_signals()
        async with serving(local, host, ("--port", "--imap-port")):
            if env_file is not None:
                write_private(env_file, ("\n".join(local.env_lines()) + "\n").encode())
                typer.echo(f"tenant settings for `source {env_file}` written")
            typer.echo("serving; Ctrl-C stops", err=True)
            await stop.wait()
        typer.echo("stopped; the tenant is saved", err=True)

    try:
        asyncio.run(main())
    except StackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


dns_app = typer.Typer(help="A local authoritative DNS server for the order's domains, "
                      "and its zones.", invoke_without_command=True)
sim.add_typer(dns_app, name="dns")
ZONES_HELP = "The zone files (one per domain, DIR/<domain>.zone); default var/dns."
ZONES = typer.Option(None, "--zones", file_okay=False, help=ZONES_HELP)


def _dir(ctx: typer.Context, given: Path | None, default: str) -> Path:
    """A directory option given after the subcommand, else before it (`sim dns --zones
    DIR set ...`), else the default."""
    return given or (ctx.obj if isinstance(ctx.obj, Path) else Path(default))


@contextmanager
def _exit_2_on_bad_input() -> Iterator[None]:
    """Bad input: its message (naming the field) on stderr, exit 2, nothing changed."""
    from mailflip.errors import InvalidInput

    try:
        yield
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _serve_until_signalled(what: str, start: Any, where: str) -> None:
    """Start a server that runs in threads (`start()` returns it; it has `stop()`), say
    `where`, and stop it at SIGINT / SIGTERM."""
    import signal
    import threading

    try:
        server = start()
    except (OSError, RuntimeError) as exc:
        typer.echo(f"error: cannot serve {what}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(where)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    typer.echo("stopped", err=True)


@dns_app.callback()
def dns_cmd(
    ctx: typer.Context,
    port: int = typer.Option(8053, "--port", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", "--host"),
    zones: Path = typer.Option(Path("var/dns"), "--zones", file_okay=False, help=ZONES_HELP),
) -> None:
    """Serve the zones over UDP and TCP until Ctrl-C (`mailflip sim dns`); edit them with
    `set`, `unset` and `show`, which the server sees on its next query. Point the worker
    (MAILFLIP_DNS=resolver MAILFLIP_DNS_SERVER=HOST:PORT) and `mailflip sim m365 --dns`
    at it: publishing the TXT record is then what verifies a domain, and the MX record
    what moves Updating MX Record on."""
    ctx.obj = zones
    if ctx.invoked_subcommand is not None:
        return
    from mailflip.dns.sim_server import SimDns

    zones.mkdir(parents=True, exist_ok=True)
    _serve_until_signalled(f"DNS on {host}:{port}", lambda: SimDns(zones, host, port).start(),
                           f"DNS on {host}:{port} (UDP and TCP), zones in {zones}: "
                           f"MAILFLIP_DNS=resolver MAILFLIP_DNS_SERVER={host}:{port}")


@dns_app.command("set")
def dns_set(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="e.g. contoso.com, autodiscover.contoso.com"),
    rtype: str = typer.Argument(..., metavar="TYPE", help="A, AAAA, CNAME, MX or TXT"),
    value: str = typer.Argument(..., help='e.g. "MS=ms12345", "0 contoso-com.mail.'
                                "protection.outlook.com.\""),
    add: bool = typer.Option(False, "--add", help="Keep the name's other records of "
                             "this type (default: replace them)."),
    zones: Path | None = ZONES,
) -> None:
    """Publish a record."""
    from mailflip.dns.zones import record, set_record

    with _exit_2_on_bad_input():
        rec = record(name, rtype, value)
    path = set_record(_dir(ctx, zones, "var/dns"), rec, add=add)
    typer.echo(f"published {rec.line()} (in {path})")


@dns_app.command("unset")
def dns_unset(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    rtype: str | None = typer.Argument(None, metavar="[TYPE]", help="Only this type."),
    zones: Path | None = ZONES,
) -> None:
    """Withdraw a name's records (all, or of one type)."""
    from mailflip.dns.zones import unset_record

    with _exit_2_on_bad_input():
        gone = unset_record(_dir(ctx, zones, "var/dns"), name, rtype)
    typer.echo(f"withdrew {gone} record(s) at {name}")


@dns_app.command("show")
def dns_show(ctx: typer.Context, name: str = typer.Argument(...),
             zones: Path | None = ZONES) -> None:
    """What is published at a name and below it, as zone-file lines."""
    from mailflip.dns.zones import records_of

    with _exit_2_on_bad_input():
        found = records_of(_dir(ctx, zones, "var/dns"), name)
    for rec in found:
        typer.echo(rec.line())
    if not found:
        typer.echo(f"nothing published at {name}", err=True)


smtp_app = typer.Typer(help="A local SMTP server that keeps what it is sent, and its "
                       "messages.", invoke_without_command=True)
sim.add_typer(smtp_app, name="smtp")
MAILDIR_HELP = "Where the messages are kept (a Maildir); default var/smtp."
MAILDIR = typer.Option(None, "--maildir", file_okay=False, help=MAILDIR_HELP)


@smtp_app.callback()
def smtp_cmd(
    ctx: typer.Context,
    port: int = typer.Option(8025, "--port", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", "--host"),
    maildir: Path = typer.Option(Path("var/smtp"), "--maildir", file_okay=False,
                                 help=MAILDIR_HELP),
) -> None:
    """Take mail over SMTP until Ctrl-C (`mailflip sim smtp`), keeping every message;
    read them with `list` and `show ID`. Point the worker at it with MAILFLIP_NOTIFY=smtp
    MAILFLIP_SMTP_HOST=HOST MAILFLIP_SMTP_PORT=PORT."""
    ctx.obj = maildir
    if ctx.invoked_subcommand is not None:
        return
    from mailflip.notify.catcher import SmtpCatcher

    _serve_until_signalled(f"SMTP on {host}:{port}",
                           lambda: SmtpCatcher(maildir, host, port).start(),
                           f"SMTP on {host}:{port}, messages kept in {maildir}: "
                           f"MAILFLIP_NOTIFY=smtp MAILFLIP_SMTP_HOST={host} "
                           f"MAILFLIP_SMTP_PORT={port}")


@smtp_app.command("list")
def smtp_list(ctx: typer.Context, maildir: Path | None = MAILDIR) -> None:
    """Every message kept, oldest first: id, date, to, subject."""
    from rich.console import Console
    from rich.table import Table

    from mailflip.notify.catcher import caught

    table = Table("id", "date", "to", "subject", box=None)
    messages = caught(_dir(ctx, maildir, "var/smtp"))
    for c in messages:
        table.add_row(c.id.rsplit(".", 1)[0], c.date, c.to, c.subject)  # (less the host)
    Console(highlight=False, width=200).print(table)
    if not messages:
        typer.echo("no messages yet", err=True)


@smtp_app.command("show")
def smtp_show(ctx: typer.Context, message_id: str = typer.Argument(..., metavar="ID"),
              maildir: Path | None = MAILDIR) -> None:
    """One message: its headers and text (attachments named, not printed)."""
    from mailflip.notify.catcher import one

    with _exit_2_on_bad_input():
        c = one(_dir(ctx, maildir, "var/smtp"), message_id)
    for name in ("Date", "From", "To", "Subject", "Message-ID"):
        typer.echo(f"{name}: {c.message[name]}")
    body = c.message.get_body(("plain", "html"))
    typer.echo("\n" + (body.get_content() if body is not None else ""))
    for part in c.message.iter_attachments():
        typer.echo(f"[attachment {part.get_filename()} ({part.get_content_type()})]")
