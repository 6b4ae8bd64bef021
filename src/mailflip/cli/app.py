"""The `mailflip` command: one Typer app, sub-commands registered from their modules."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer

app = typer.Typer(
    name="mailflip",
    help="Email migrations to Microsoft 365: order lifecycle on Temporal, crash-safe mail sync.",
    no_args_is_help=True,
    add_completion=False,
)

# Each module registers its commands on `app` when imported.
_COMMAND_MODULES = (
    "mailflip.cli.simulate_cmd",
    "mailflip.cli.stack_cmd",
    "mailflip.cli.orders_cmd",
    "mailflip.cli.demo_cmd",
    "mailflip.cli.sync_cmd",
    "mailflip.cli.sim_cmd",
    "mailflip.cli.tenant_cmd",
    "mailflip.cli.agent_cmd",
    "mailflip.cli.users_cmd",
    "mailflip.cli.keys_cmd",
)


def _register() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name)


# The sync engine's own commands start lean (a resync is timed with its start-up): they
# log through the stdlib's default until they read settings.
_LEAN = ("sync", "sync-batch")


def main() -> None:
    _register()
    if sys.argv[1:2] and sys.argv[1] not in _LEAN:
        import os
        from pathlib import Path

        from mailflip.logs import setup_logging

        file = os.environ.get("MAILFLIP_LOG_FILE")
        setup_logging(os.environ.get("MAILFLIP_LOG_LEVEL", "info"),
                      Path(file) if file else None,
                      os.environ.get("MAILFLIP_LOG_FORMAT", "auto"))
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:  # a bad MAILFLIP_* setting, read by any command
        if exc.title != "Settings":
            raise
        from mailflip.config import settings_error

        console(stderr=True).print(f"[bold red]invalid settings:[/] {settings_error(exc)}")
        raise SystemExit(2) from None


def console(stderr: bool = False) -> Any:
    """A rich Console; piped output is not cut at 80 columns (tables of Message-IDs)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else 250)
