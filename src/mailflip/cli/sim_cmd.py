"""`mailflip sim ...`: local stand-ins that speak the real protocols (Microsoft 365 now;
DNS and SMTP to come), for a whole order on one machine."""

from __future__ import annotations

from pathlib import Path

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
        async with serving(local, host):
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
