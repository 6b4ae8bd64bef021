"""`mailflip agent`: the reference desktop agent, as an end user's PC runs it; and
`mailflip agents serve`: the agents' API on its own (a worker with MAILFLIP_AGENTS=api
and MAILFLIP_AGENTS_LISTEN serves it too)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from .app import app, console

agents = typer.Typer(help="The desktop agents' API.", no_args_is_help=True)
app.add_typer(agents, name="agents")


@app.command("agent")
def agent_cmd(
    server: str = typer.Option(..., "--server", help="The agents' API (from the email)."),
    token: str = typer.Option(..., "--token", envvar="MAILFLIP_AGENT_TOKEN",
                              help="The enrolment code from the email (or "
                              "MAILFLIP_AGENT_TOKEN, which keeps it out of `ps`)."),
    profile: Path = typer.Option(Path("mail-profile.json"), "--profile", help="The mail "
                                 "profile this PC's mail client uses (JSON: account_type, "
                                 "server, address); the flip rewrites it."),
    windows: bool = typer.Option(False, "--windows", help="Change the Windows Outlook "
                                 "profile instead (not built yet: says so and stops)."),
    outlook_version: str = typer.Option("16.0.17928.20114", "--outlook-version",
                                        help="What this PC's Outlook reports."),
    m365: str = typer.Option("outlook.office365.com:443", "--m365", metavar="HOST:PORT",
                             help="Probed for the readiness report's 'can reach "
                             "Microsoft 365'."),
    retry_max: float = typer.Option(30.0, "--retry-max", min=0.1,
                                    help="Longest wait between retries (s)."),
) -> None:
    """Enrol, report readiness, and switch the mail profile to Microsoft 365 when told."""
    import logging
    import signal

    from mailflip.agents.reference import (
        AgentRefused,
        JsonProfile,
        PcFacts,
        ReferenceAgent,
        WindowsOutlookProfile,
    )
    from mailflip.errors import InvalidInput
    from mailflip.localnet import host_port

    out = console()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        host, port = host_port(m365, "--m365")
    except InvalidInput as exc:
        out.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not server.startswith(("http://", "https://")):
        out.print("[red]--server: must be an http:// or https:// URL[/red]")
        raise typer.Exit(2)
    if windows:  # the step itself says it is not built
        try:
            WindowsOutlookProfile().current()
        except NotImplementedError as exc:
            out.print(f"[red]--windows: {exc} (README: The desktop agent on Windows)[/red]")
            raise typer.Exit(2) from None
    agent = ReferenceAgent(server, token, JsonProfile(profile),
                           PcFacts(outlook_version, host, port),
                           profile.parent.resolve(), retry_max_s=retry_max)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: agent.stopped.set())
    try:
        code = agent.run(lambda event: out.print(f"agent: {event}"))
    except AgentRefused as exc:
        if agent.stopped.is_set():
            raise typer.Exit(1) from None
        out.print(f"[red]agent: refused: {exc}[/red]")
        raise typer.Exit(3) from None
    raise typer.Exit(code)


@agents.command("serve")
def serve_cmd(
    listen: str = typer.Option("127.0.0.1:8070", "--listen", metavar="HOST:PORT"),
) -> None:
    """Serve the agents' API over the store of MAILFLIP_DATABASE_URL until stopped."""
    from mailflip.agents.api import agents_app
    from mailflip.config import Settings
    from mailflip.errors import InvalidInput
    from mailflip.localnet import host_port
    from mailflip.store.repositories import create_store
    from mailflip.webserve import uvicorn_server

    out = console()
    try:
        host, port = host_port(listen, "--listen")
    except InvalidInput as exc:
        out.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    settings = Settings()
    store = create_store(settings.database_url)
    out.print(f"agents' API on http://{host}:{port}/agent/v1 (store {store!r}, pid "
              f"{os.getpid()})")
    try:
        uvicorn_server(agents_app(store, settings.agents_poll_seconds), host, port,
                       log_level="warning").run()
    finally:
        store.close()
