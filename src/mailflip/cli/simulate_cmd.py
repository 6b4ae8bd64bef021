"""`mailflip simulate FILE`: what happens to an order, on a simulated clock."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from mailflip.cli.app import app


@app.command("simulate")
def simulate_cmd(
    file: Path = typer.Argument(..., help="Scenario YAML (see SCENARIOS.md; examples/ has some)."),
    fmt: str = typer.Option("json", "--format", help="json: one JSON event per line (the "
                            "contract); table: a readable table for people."),
) -> None:
    """What happens to an order, on a simulated clock: print its timeline.

    Runs the scenario through the real order workflow on Temporal's time-skipping
    server with a simulated world. Exit 0 when it ran to its end, 2 when the file is
    invalid (the message names the field)."""
    from mailflip.errors import InvalidInput
    from mailflip.simulate.runner import exit_now, simulate

    if fmt not in ("json", "table"):
        typer.echo("--format: must be json or table", err=True)
        exit_now(2)
    try:
        outcome = asyncio.run(simulate(str(file)))
    except InvalidInput as exc:
        typer.echo(f"invalid scenario: {exc}", err=True)
        exit_now(2)
    if fmt == "json":
        for line in outcome.lines:
            typer.echo(json.dumps(line, ensure_ascii=False))
    else:
        from mailflip.simulate.table import print_table

        print_table(outcome.lines)
    exit_now(0)
