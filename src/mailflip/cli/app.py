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

@app.callback()
def _always_a_group() -> None:
    # With one command registered (as when only its module is imported), Typer would run
    # the app as that command: `mailflip simulate FILE` would read `simulate` as FILE.
    pass


# Each module registers its commands on `app` when imported. A command line naming one
# imports only its module (a `mailflip sync` resync is timed with its start-up); help and
# unknown names import them all. tests/cli/test_cli_commands.py checks this table.
COMMAND_MODULES = {
    "simulate": "mailflip.cli.simulate_cmd",
    "worker": "mailflip.cli.stack_cmd",
    "portal": "mailflip.cli.stack_cmd",
    "up": "mailflip.cli.stack_cmd",
    "orders": "mailflip.cli.orders_cmd",
    "demo": "mailflip.cli.demo_cmd",
    "sync": "mailflip.cli.sync_cmd",
    "sync-batch": "mailflip.cli.sync_cmd",
    "sim": "mailflip.cli.sim_cmd",
    "tenant": "mailflip.cli.tenant_cmd",
    "agent": "mailflip.cli.agent_cmd",
    "agents": "mailflip.cli.agent_cmd",
    "users": "mailflip.cli.users_cmd",
    "keys": "mailflip.cli.keys_cmd",
}


def _register(argv: list[str]) -> None:
    named = COMMAND_MODULES.get(argv[1]) if len(argv) > 1 else None
    for name in (named,) if named else dict.fromkeys(COMMAND_MODULES.values()):
        importlib.import_module(name)


# The sync engine's own commands start lean (a resync is timed with its start-up): they
# log through the stdlib's default until they read settings.
_LEAN = ("sync", "sync-batch")


def main() -> None:
    _register(sys.argv)
    if sys.argv[1:2] and sys.argv[1] not in _LEAN:
        import os
        from pathlib import Path

        from mailflip.logs import setup_logging

        file = os.environ.get("MAILFLIP_LOG_FILE")
        setup_logging(os.environ.get("MAILFLIP_LOG_LEVEL", "info"),
                      Path(file) if file else None,
                      os.environ.get("MAILFLIP_LOG_FORMAT", "auto"))
    try:
        app()
    except Exception as exc:
        if not _settings_error(exc):
            raise
        from mailflip.config import settings_error

        console(stderr=True).print(f"[bold red]invalid settings:[/] {settings_error(exc)}")
        raise SystemExit(2) from None


def _settings_error(exc: Exception) -> bool:
    """A bad MAILFLIP_* setting, read by any command. Settings are pydantic's: a command
    that never imported pydantic (sync) cannot raise its error, nor pay for its import."""
    pydantic = sys.modules.get("pydantic")
    return (pydantic is not None and isinstance(exc, pydantic.ValidationError)
            and exc.title == "Settings")


def console(stderr: bool = False) -> Any:
    """A rich Console; piped output is not cut at 80 columns (tables of Message-IDs)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, highlight=False, width=None if stream.isatty() else 250)
