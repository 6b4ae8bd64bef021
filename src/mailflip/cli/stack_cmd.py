"""`mailflip worker` (join a Temporal cluster) and `mailflip up` (everything locally)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from mailflip.cli.app import app

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

WORLD_OPTION = typer.Option(
    None, "--world", metavar="WORLD.yaml", exists=True, dir_okay=False,
    help="Play a simulated outside world (tenant, DNS, agents, SMTP host, mail) for every "
    "port without a real adapter configured: a YAML file with a `world:` section as in "
    "SCENARIOS.md (offsets under dns: count from when the worker first sees the domain; "
    "`*` means any domain). examples/worlds/demo.yaml is one where everything works.")


M365_PORT_OPTION = typer.Option(
    8365, "--m365-port", min=1, max=65535,
    help="Port of the local Microsoft 365 the stack serves when MAILFLIP_TENANT is unset "
    "(state in DATA_DIR/m365).")


M365_IMAP_PORT_OPTION = typer.Option(
    8993, "--m365-imap-port", min=1, max=65535,
    help="IMAP (TLS) port of the local Microsoft 365's mailboxes, as outlook.office365.com"
    ":993 (a Dovecot behind an Exchange-like front).")


SMTP_PORT_OPTION = typer.Option(
    8025, "--smtp-port", min=1, max=65535,
    help="Port of the local SMTP catcher the notifications go to when MAILFLIP_NOTIFY is "
    "unset (messages kept in DATA_DIR/smtp: mailflip sim smtp list --maildir DATA_DIR/smtp).")


DNS_PORT_OPTION = typer.Option(
    8053, "--dns-port", min=1, max=65535,
    help="Port of the local DNS server the worker and the local Microsoft 365 ask when "
    "MAILFLIP_DNS is unset (zones in DATA_DIR/dns; the world file's dns: section "
    "publishes there, and so can mailflip sim dns set ... --zones DATA_DIR/dns).")
SOURCE_PORT_OPTION = typer.Option(
    8143, "--source-port", min=1, max=65535,
    help="Port of the local source mail host (Dovecot, seeded with the demo users' "
    "mail) when MAILFLIP_MAIL and MAILFLIP_TENANT are unset.")
PORTAL_PORT_OPTION = typer.Option(
    8080, "--portal-port", min=1, max=65535,
    help="Port of the portal (partners, support, end users) on 127.0.0.1 when "
    "MAILFLIP_PUBLIC_URL is unset; else the portal serves that URL's port.")
AGENTS_PORT_OPTION = typer.Option(
    8070, "--agents-port", min=1, max=65535,
    help="Port of the desktop agents' API when MAILFLIP_AGENTS is unset (a reference "
    "agent per end user runs against it; mail profiles in DATA_DIR/agents).")


def compose_local(settings: Any, data_dir: Path, world: Any, m365_port: int = 8365,
                  imap_port: int = 8993, smtp_port: int = 8025, dns_port: int = 8053,
                  agents_port: int = 8070, source_port: int = 8143, portal_port: int = 8080
                  ) -> tuple[Any, Any, Any]:
    """(settings, composition, Locals): every port without an adapter configured that
    has a local stand-in gets it - the tenant a local Microsoft 365 through the real
    adapter, DNS a local DNS server read through the real adapter, notifications a local
    SMTP catcher, the desktop agents the agents' API with a reference agent per end
    user, the mail passes the sync engine from a local source mail host into the local
    Microsoft 365's mailboxes; the world file serves the rest, and publishes its DNS
    timings. The portal is at http://127.0.0.1:PORTAL_PORT unless MAILFLIP_PUBLIC_URL
    says where."""
    from mailflip.stack.agents import LocalAgents
    from mailflip.stack.dns import LocalDns
    from mailflip.stack.local import Locals, LocalSmtp

    locals_ = Locals()
    if "public_url" not in settings.model_fields_set:  # the portal, on this machine
        settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{portal_port}"})
    if not settings.agents:
        locals_.agents = LocalAgents(data_dir / "agents", agents_port)
        settings = locals_.agents.settings(settings)
    if not settings.notify:
        locals_.smtp = LocalSmtp(data_dir / "smtp", smtp_port)
        settings = locals_.smtp.settings(settings)
    if not settings.dns:
        locals_.dns = LocalDns(data_dir / "dns", dns_port)
        settings = locals_.dns.settings(settings)
    if not settings.tenant:
        from mailflip.errors import InvalidInput
        from mailflip.stack.m365 import local_settings, prepare_local
        from mailflip.tenant.simulator.local import dns_resolver

        try:
            locals_.m365 = prepare_local(data_dir, m365_port, imap_port,
                                         dns_resolver(settings.dns_server))
        except InvalidInput as exc:
            err.print(f"[bold red]cannot prepare the local Microsoft 365:[/] {exc}")
            _exit(2)
        settings = local_settings(settings, locals_.m365)
        if not settings.mail:  # real mail, into the local tenant's mailboxes
            from mailflip.stack.source import LocalSource

            locals_.source = LocalSource(data_dir / "source", source_port)
            settings = settings.model_copy(update={
                "mail": "order", "mail_state_dir": data_dir / "mail-state"})
    return settings, compose_or_exit(settings, world), locals_


def settings_or_exit(env_file: Path | None = None) -> Any:
    """The settings from the environment (and `env_file`); a bad one exits 2 naming it."""
    from pydantic import ValidationError

    from mailflip.config import Settings, settings_error

    try:
        settings = Settings(_env_file=env_file) if env_file else Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        err.print(f"[bold red]invalid settings:[/] {settings_error(exc)}")
        _exit(2)
    log_to(settings, settings.log_file)
    return settings


def log_to(settings: Any, file: Path | None) -> None:
    """The process's logging from the settings (mailflip/logs.py), into `file`."""
    from mailflip.logs import setup_logging

    setup_logging(settings.log_level, file, settings.log_format, settings)


def _exit(code: int) -> NoReturn:
    from mailflip.simulate.runner import exit_now

    exit_now(code)
    raise SystemExit(code)  # not reached


def compose_or_exit(settings: Any, world: Path | None) -> Any:
    """The worker's adapters from the settings (and the world file, if given); a bad
    world file or setting exits 2 naming the field, a port with no adapter exits 1."""
    from mailflip.compose import compose
    from mailflip.errors import InvalidInput, StackError
    from mailflip.simulate.live import load_world

    try:
        return compose(settings, load_world(world) if world is not None else None)
    except InvalidInput as exc:
        err.print(f"[bold red]invalid {'world file' if world else 'settings'}:[/] {exc}")
        _exit(2)
    except StackError as exc:
        err.print(f"[bold red]cannot start:[/] {exc}")
        _exit(1)


def describe_adapters(composition: Any) -> None:
    """What serves each port; loud when a simulated world plays some of them."""
    for port, who in composition.served_by.items():
        out.print(f"  {port:<8} {who}")
    if composition.simulated:
        err.print(f"[bold yellow]SIMULATED OUTSIDE WORLD[/] ({composition.world.spec.source}) "
                  f"serves {', '.join(composition.simulated)}: no real tenant, DNS, agent or "
                  "mail is touched by this worker for those ports.")


@app.command("worker", short_help="Run a worker for a Temporal cluster (scale out: run more).")
def worker_cmd(world: Path | None = WORLD_OPTION,
               passes: bool = typer.Option(
                   False, "--passes", help="Run sync passes only, from "
                   "MAILFLIP_PASS_TASK_QUEUE (big orders: the mail work then never holds "
                   "up workflow tasks)."),
               env_file: Path | None = typer.Option(
                   None, "--env-file", exists=True, dir_okay=False, help="Read settings "
                   "from this dotenv file too (the environment wins): DATA_DIR/worker.env, "
                   "which `mailflip up` writes, joins a worker to the local stack.")) -> None:
    """Run a worker: it executes order workflows and their activities for the Temporal
    cluster in the settings until Ctrl-C.

    Settings (environment): MAILFLIP_TEMPORAL_ADDRESS (default localhost:7233),
    MAILFLIP_TEMPORAL_NAMESPACE, MAILFLIP_TEMPORAL_TLS=true, MAILFLIP_TEMPORAL_API_KEY
    (Temporal Cloud; turns TLS on), MAILFLIP_TASK_QUEUE, MAILFLIP_DATABASE_URL (the store
    it mirrors orders to), MAILFLIP_PASS_TASK_QUEUE (sync passes of new orders go to
    workers started with --passes).

    To scale out, start more workers - on this machine or others - pointing at the same
    cluster, namespace, task queue and database: Temporal shares the work among them, and
    a worker that stops hands its work over to the others."""
    settings = settings_or_exit(env_file)
    composition = compose_or_exit(settings, world)
    try:
        code = asyncio.run(_serve(settings, composition, passes))
    finally:
        composition.close()
    _exit(code)


async def _client(settings: Any) -> Any:
    """A client of the settings' cluster, or None having said why not."""
    from mailflip.stack.worker import connect

    try:
        return await connect(settings)
    except RuntimeError as exc:
        err.print(f"[bold red]cannot reach Temporal[/] at {settings.temporal_address}: {exc}")
        return None


async def _serve(settings: Any, composition: Any, passes: bool = False) -> int:
    from mailflip.errors import InvalidInput
    from mailflip.stack.worker import serve, stop_on_signals, worker_queue

    try:
        queue = worker_queue(settings, passes)
    except InvalidInput as exc:
        err.print(f"[bold red]{exc.field}:[/] {exc.message}")
        return 2
    stop = stop_on_signals()
    client = await _client(settings)
    if client is None:
        return 1
    out.print(f"{'pass ' if passes else ''}worker on [bold]{settings.temporal_address}[/] "
              f"namespace [bold]{settings.temporal_namespace}[/] task queue [bold]{queue}"
              "[/]; Ctrl-C stops it.")
    describe_adapters(composition)
    await serve(client, settings, composition, stop, passes_only=passes)
    out.print("worker stopped")
    return 0


@app.command("portal", short_help="Serve the portal and the REST API for a Temporal "
             "cluster (scale out: run more).")
def portal_cmd(env_file: Path | None = typer.Option(
        None, "--env-file", exists=True, dir_okay=False, help="Read settings from this "
        "dotenv file too (the environment wins): DATA_DIR/worker.env joins the local "
        "stack of `mailflip up`."),
        port: int | None = typer.Option(None, "--port", min=1, max=65535, help="Serve on "
                                        "this port of MAILFLIP_PUBLIC_URL's host instead "
                                        "of the URL's own.")) -> None:
    """Serve the portal (partners, support, end users) and the REST API on
    MAILFLIP_PUBLIC_URL until Ctrl-C, in a process of its own: it reads the store
    (MAILFLIP_DATABASE_URL) and acts on orders through the Temporal cluster in the
    settings, like `mailflip orders`. Behind a proxy that ends TLS, give the public https
    URL: the cookies are then Secure. Run as many as you like behind a load balancer:
    sessions live in the store. (Failed sign-ins per address are counted per process.)"""
    from urllib.parse import urlsplit, urlunsplit

    settings = settings_or_exit(env_file)
    if port is not None:
        url = urlsplit(settings.public_url)
        netloc = f"{url.hostname}:{port}"
        settings = settings.model_copy(update={"public_url": urlunsplit(
            (url.scheme, netloc, url.path, "", ""))})
    _exit(asyncio.run(_portal(settings)))


async def _portal(settings: Any) -> int:
    from mailflip.errors import StackError
    from mailflip.stack.portal import portal_serving
    from mailflip.stack.worker import stop_on_signals
    from mailflip.store.repositories import create_store

    stop = stop_on_signals()
    client = await _client(settings)
    if client is None:
        return 1
    assert settings.secret_key is not None
    store = create_store(settings.database_url,
                         secret_key=settings.secret_key.get_secret_value())
    try:
        async with portal_serving(settings, store, client=client, command="mailflip portal",
                                  option="--port"):
            out.print(f"portal on [bold]{settings.public_url}[/] for "
                      f"[bold]{settings.temporal_address}[/] task queue "
                      f"[bold]{settings.task_queue}[/]; Ctrl-C stops it.")
            await stop.wait()
    except StackError as exc:
        err.print(f"[bold red]mailflip portal failed:[/] {exc}")
        return 1
    finally:
        store.close()
    out.print("portal stopped")
    return 0


@app.command("up", short_help="Run everything locally: Temporal dev server + worker.")
def up_cmd(
    port: int = typer.Option(7233, "--port", help="Temporal server gRPC port."),
    ui_port: int = typer.Option(8233, "--ui-port", help="Temporal web UI port."),
    data_dir: Path = typer.Option(Path("var"), "--data-dir", file_okay=False,
                                  help="Where the Temporal server keeps its state "
                                  "(temporal.db) and log (temporal.log)."),
    world: Path | None = WORLD_OPTION,
    m365_port: int = M365_PORT_OPTION,
    m365_imap_port: int = M365_IMAP_PORT_OPTION,
    smtp_port: int = SMTP_PORT_OPTION,
    dns_port: int = DNS_PORT_OPTION,
    agents_port: int = AGENTS_PORT_OPTION,
    source_port: int = SOURCE_PORT_OPTION,
    portal_port: int = PORTAL_PORT_OPTION,
    no_worker: bool = typer.Option(
        False, "--no-worker", help="Run no worker in this process: start `mailflip worker "
        "--env-file DATA_DIR/worker.env` (as many as you like) to join the stack."),
) -> None:
    """Run the whole stack on this machine until Ctrl-C: the Temporal dev server
    (state kept in DATA_DIR/temporal.db, so orders survive a restart), a worker, and -
    unless MAILFLIP_TENANT names a real tenant adapter - a local Microsoft 365 that the
    worker's Graph adapter talks to. Then use `mailflip orders ...` in another terminal.
    Ctrl-C stops the worker and the server cleanly. More workers join with `mailflip
    worker --env-file DATA_DIR/worker.env`."""
    from mailflip.stack.local import dev_server

    base = settings_or_exit()
    settings, composition, locals_ = compose_local(
        base, data_dir, world, m365_port, m365_imap_port, smtp_port, dns_port,
        agents_port, source_port, portal_port)
    log_to(settings, base.log_file or data_dir / "mailflip.log")
    server = dev_server(settings, data_dir, port, ui_port)
    run_local("up", server, composition,
              lambda server: _up(settings, server, composition, locals_, base,
                                 data_dir / "worker.env", not no_worker, world))


def run_local(label: str, server: Any, composition: Any,
              main: Callable[[Any], Coroutine[Any, Any, None]],
              start_first: bool = False) -> NoReturn:
    """Run `main(server)` on the local stack, then stop the dev server and close the
    adapters whatever happened; exit 1 naming the stack problem, else 0."""
    from mailflip.errors import StackError

    try:
        if start_first:
            server.start()
        asyncio.run(main(server))
    except StackError as exc:
        err.print(f"[bold red]mailflip {label} failed:[/] {exc}")
        _exit(1)
    finally:
        server.stop()
        composition.close()
    _exit(0)


async def _up(settings: Any, server: Any, composition: Any, locals_: Any, base: Any,
              env_file: Path, worker: bool, world: Path | None) -> None:
    from mailflip.stack.local import local_stack
    from mailflip.stack.worker import stop_on_signals, worker_env, write_worker_env

    stop = stop_on_signals()
    joining = worker_env(settings, base, server.address)
    if base.log_file is None:  # the joining workers' log, beside this one's mailflip.log
        joining["MAILFLIP_LOG_FILE"] = str((env_file.parent / "worker.log").absolute())
    write_worker_env(env_file, joining)
    server.start()
    async with local_stack(settings, server, composition, locals_, worker=worker) as running:
        join = f"mailflip worker --env-file {env_file}" + (f" --world {world}" if world
                                                           else "")
        print_banner(settings, server, composition, locals_, join, in_process=worker,
                     accounts=running.accounts)
        await stop.wait()
        out.print("stopping the worker and the Temporal server ...")
    out.print("stopped.")


def print_banner(settings: Any, server: Any, composition: Any, locals_: Any = None,
                 join: str | None = None, in_process: bool = True,
                 accounts: list[tuple[str, str, str]] | None = None) -> None:
    """`join`: how a worker joins the stack - more of them, or (`in_process` False, up
    --no-worker) the first. `accounts`: the portal's seeded (email, role, password)."""
    out.print(f"[bold green]mailflip is up[/]\n"
              f"  Temporal UI      [bold]{server.ui_url}[/]\n"
              f"  Temporal server  {server.address}  namespace {server.namespace}  "
              f"(state {server.data_dir / 'temporal.db'}, log {server.log_path})")
    if not in_process:
        out.print(f"  Worker           [yellow]none in this process[/]: start one (or more) "
                  f"with {join}", soft_wrap=True)
    else:
        out.print(f"  Worker           task queue {settings.task_queue}" +
                  (f"; more join with {join}" if join else ""), soft_wrap=True)
    if accounts:
        from mailflip.stack.portal import account_lines

        out.print(f"  Portal           [bold]{settings.public_url}[/]  sign in as:")
        for line in account_lines(accounts):
            out.print(f"    {line}")
    if locals_ is not None:
        describe_locals(locals_)
    describe_adapters(composition)
    if server.address != settings.temporal_address:
        out.print(f"  [yellow]In other terminals first:[/] "
                  f"export MAILFLIP_TEMPORAL_ADDRESS={server.address}")
    out.print("Try:  mailflip orders example > order.yaml && mailflip orders create order.yaml\n"
              "      mailflip orders place ID;  mailflip orders list;  mailflip orders show ID")
    if settings.verify_interval_minutes > 1:
        out.print(f"  (orders check their domains every {settings.verify_interval_minutes} min; "
                  "create them with MAILFLIP_VERIFY_INTERVAL_MINUTES=1 to move faster)")
    out.print("Ctrl-C stops everything.")


def describe_locals(locals_: Any) -> None:
    """The local stand-ins, and how to look at what they hold."""
    if locals_.m365 is not None:
        describe_local_m365(locals_.m365)
    if locals_.dns is not None:
        dns = locals_.dns
        out.print(f"  DNS              local, {dns.address} (UDP, TCP); what is published: "
                  f"mailflip sim dns show DOMAIN --zones {dns.zones}", soft_wrap=True)
    if locals_.smtp is not None:
        smtp = locals_.smtp
        out.print(f"  Email            local SMTP {smtp.host}:{smtp.port}; read what orders "
                  f"sent with: mailflip sim smtp list --maildir {smtp.maildir}",
                  soft_wrap=True)
    if locals_.source is not None:
        source = locals_.source
        out.print(f"  Source mail host local IMAP {source.url} (Dovecot, mail in {source.base}); "
                  "an order reads it with: mailflip orders credentials ID --kind source "
                  f"--file {source.credentials_file}", soft_wrap=True)
    if locals_.agents is not None:
        agents = locals_.agents
        out.print(f"  Desktop agents   API {agents.url}/agent/v1; a reference agent per end "
                  "user starts when their prepare-for-migration email goes out (mail "
                  f"profiles in {agents.profiles}); see them: mailflip orders agents ID",
                  soft_wrap=True)


def describe_local_m365(local: Any) -> None:
    tenant = local.config.tenants[0].initial_domain
    out.print(f"  Microsoft 365    local, {local.url} (tenant {tenant}; what orders did to "
              f"it: {local.url}/_sim/)\n"
              "                   an order signs in with: mailflip orders credentials ORDER "
              f"--kind tenant --file {local.credentials}", soft_wrap=True)  # copyable
    if local.imap_url:
        out.print(f"                   its mailboxes over IMAP: {local.imap_url} (XOAUTH2 with "
                  "MigrationApp's token, as Exchange Online)", soft_wrap=True)
