"""The command table that lets `mailflip <command>` import only that command's module."""

from __future__ import annotations

import importlib
import inspect

from mailflip.cli import app as cli


def test_every_command_is_in_the_table_under_the_module_that_registers_it():
    for name in dict.fromkeys(cli.COMMAND_MODULES.values()):
        importlib.import_module(name)
    registered: dict[str, str] = {}
    for command in cli.app.registered_commands:
        assert command.name and command.callback
        registered[command.name] = command.callback.__module__
    for group in cli.app.registered_groups:
        typer_app = group.typer_instance
        assert group.name and typer_app is not None
        callbacks = [c.callback for c in typer_app.registered_commands if c.callback]
        callbacks += [c.callback for g in typer_app.registered_groups if g.typer_instance
                      for c in g.typer_instance.registered_commands if c.callback]
        registered[group.name] = inspect.getmodule(callbacks[0]).__name__  # type: ignore[union-attr]
    assert registered == cli.COMMAND_MODULES


def test_each_command_runs_with_only_its_own_module_imported():
    from tests.cli.cli import mailflip

    for name in cli.COMMAND_MODULES:
        out = mailflip(name, "--help")
        assert out.returncode == 0, (name, out.stderr)
        assert f"Usage: mailflip {name}" in out.stdout, (name, out.stdout[:300])
