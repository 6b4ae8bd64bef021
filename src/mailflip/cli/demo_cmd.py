"""`mailflip demo` (what `make demo` runs): a whole migration on a simulated clock in
seconds, then the local stack with a live demo order, until Ctrl-C."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.rule import Rule

from mailflip.cli.app import app
from mailflip.cli.stack_cmd import (
    AGENTS_PORT_OPTION,
    DNS_PORT_OPTION,
    M365_IMAP_PORT_OPTION,
    M365_PORT_OPTION,
    PORTAL_PORT_OPTION,
    SMTP_PORT_OPTION,
    SOURCE_PORT_OPTION,
    compose_local,
    describe_locals,
    run_local,
)

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@app.command("demo", short_help="A simulated migration in seconds, then a live order "
             "on the local stack.")
def demo_cmd(
    port: int = typer.Option(7233, "--port", help="Temporal server gRPC port."),
    ui_port: int = typer.Option(8233, "--ui-port", help="Temporal web UI port."),
    data_dir: Path = typer.Option(Path("var"), "--data-dir", file_okay=False,
                                  help="Where the Temporal server keeps its state and log."),
    m365_port: int = M365_PORT_OPTION,
    m365_imap_port: int = M365_IMAP_PORT_OPTION,
    smtp_port: int = SMTP_PORT_OPTION,
    dns_port: int = DNS_PORT_OPTION,
    agents_port: int = AGENTS_PORT_OPTION,
    source_port: int = SOURCE_PORT_OPTION,
    portal_port: int = PORTAL_PORT_OPTION,
) -> None:
    """See mailflip work, in two parts: (1) the bundled example order's whole life -
    40 days, placement to Migration Complete - simulated in a few seconds and printed as
    a timeline; (2) the local stack (Temporal dev server + worker, as `mailflip up`) with
    a demo order placed now that moves in real time. Ctrl-C stops everything."""
    from mailflip.config import get_settings
    from mailflip.stack.demo import DEMO_WORLD, find_example
    from mailflip.stack.local import dev_server

    settings, composition, locals_ = compose_local(
        get_settings(), data_dir, find_example(DEMO_WORLD), m365_port, m365_imap_port,
        smtp_port, dns_port, agents_port, source_port, portal_port)
    # the server boots while the simulation runs
    run_local("demo", dev_server(settings, data_dir, port, ui_port), composition,
              lambda server: _demo(settings, server, composition, locals_),
              start_first=True)


async def _demo(settings: Any, server: Any, composition: Any, locals_: Any) -> None:
    from mailflip.stack.worker import stop_on_signals

    stop = stop_on_signals()
    await simulated_part()
    if not stop.is_set():
        await live_part(settings, server, composition, stop, locals_)


async def simulated_part() -> None:
    from mailflip.simulate.runner import simulate
    from mailflip.simulate.table import print_table
    from mailflip.stack.demo import condense, find_example

    example = find_example()
    out.print(Rule("[bold]1/2  A whole migration, simulated"))
    out.print(f"{example.name}: 2 users and a shared mailbox move to Microsoft 365; cutover "
              "40 days after placement. The real order workflow runs on Temporal's "
              "time-skipping test server against a simulated tenant, DNS and mail.\n")
    began = time.monotonic()
    outcome = await simulate(str(example))
    print_table(condense(outcome.lines), console=out)
    syncs = sum(1 for e in outcome.lines if e["kind"] == "sync" and e["state"] == "completed")
    out.print(f"\n{len(outcome.lines)} timeline events ({syncs} sync passes, summarised above) "
              f"from {outcome.lines[0]['at']} to {outcome.lines[-1]['at']}, simulated in "
              f"{time.monotonic() - began:.1f} s. Try other what-ifs: "
              "mailflip simulate examples/<file>.yaml --format table\n")


async def live_part(settings: Any, server: Any, composition: Any, stop: asyncio.Event,
                    locals_: Any = None) -> None:
    from mailflip.lifecycle.client import act
    from mailflip.lifecycle.order.messages import ActionInput
    from mailflip.lifecycle.order.workflow import OrderWorkflow
    from mailflip.stack.demo import DEMO_ENGINE, demo_spec
    from mailflip.stack.local import local_stack
    from mailflip.stack.orders import order_handle, start_order
    from mailflip.stack.portal import account_lines

    out.print(Rule("[bold]2/2  The local stack, with a live order"))
    out.print("Starting the Temporal dev server and a worker (as `mailflip up`) ...")
    local = locals_.m365 if locals_ is not None else None
    async with local_stack(settings, server, composition, locals_) as running:
        order_id = await start_order(running.client, settings.task_queue, demo_spec(),
                                     DEMO_ENGINE)
        if locals_ is not None:
            describe_locals(locals_)
        if local is not None:  # signed in as a partner would: the tenant's app in the vault
            await asyncio.to_thread(composition.store.save_credentials, order_id, "tenant",
                                    local.app_credentials())
        if locals_ is not None and locals_.source is not None:  # and the source's login
            await asyncio.to_thread(composition.store.save_credentials, order_id, "source",
                                    locals_.source.source_credentials())
        refusal = await act(order_handle(running.client, order_id), OrderWorkflow.place,
                            ActionInput("partner"))
        if refusal is not None:
            err.print(f"[bold red]placing the demo order was refused:[/] {refusal}")
            return
        env = "" if server.address == settings.temporal_address else \
            f"MAILFLIP_TEMPORAL_ADDRESS={server.address} "
        page = f"{settings.public_url}/login?next=/orders/{order_id}"
        opened = open_browser(page)
        out.print(f"Demo order [bold]{order_id}[/] placed, cutover in 3 days. Watch it:\n"
                  f"  Portal       [bold]{page}[/]"
                  f"{'  (opened in your browser)' if opened else ''}\n"
                  + "".join(f"               {line}\n"
                            for line in account_lines(running.accounts)) +
                  f"  Temporal UI  [bold]{server.ui_url}[/]  (workflow order-{order_id})\n"
                  f"  The store    {env}mailflip orders show {order_id}\n"
                  "Its timeline as the worker mirrors it, times in UTC (Ctrl-C stops "
                  "everything):")
        await follow(composition.store, order_id, stop)
        out.print("stopping the worker and the Temporal server ...")
    out.print("stopped. `mailflip up` starts the stack again; the demo order continues.")


def open_browser(url: str) -> bool:
    """Open `url` in the desktop's browser when there is a desktop (a display, or macOS);
    on a server or in CI, print only. MAILFLIP_NO_BROWSER=1 never opens one."""
    import os
    import sys
    import webbrowser

    desktop = sys.platform == "darwin" or bool(os.environ.get("DISPLAY")
                                               or os.environ.get("WAYLAND_DISPLAY"))
    if not desktop or os.environ.get("MAILFLIP_NO_BROWSER") == "1":
        return False
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


async def follow(store: Any, order_id: str, stop: asyncio.Event, every: float = 1.0) -> None:
    """Print the order's new timeline events from the store until `stop` is set."""
    from mailflip.errors import InvalidInput
    from mailflip.simulate.table import describe

    seen: set[tuple[str, int]] = set()
    while not stop.is_set():
        try:
            events = await asyncio.to_thread(store.timeline, order_id)
        except InvalidInput:
            events = []  # not mirrored yet
        for e in events:
            if (e.source, e.seq) in seen:
                continue
            seen.add((e.source, e.seq))
            line = e.to_json_obj()
            if line["kind"] in ("ctp", "sync") and line["state"] in ("waiting", "scheduled"):
                continue
            out.print(f"  {line['at'][11:19]}  {line['kind']:<7} {describe(line)}")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
