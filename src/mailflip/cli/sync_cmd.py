"""`mailflip sync` and `mailflip sync-batch`: the sync engine from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from mailflip.cli.app import app
from mailflip.errors import InvalidInput, MailflipError

EXIT_ITEM_ERRORS = 3  # the pass finished, some messages were refused (see the report)
EXIT_FAILED = 2
EXIT_GAPS = 4  # reconciliation found messages in scope that are not at the target


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(field, f"expected YYYY-MM-DD, got {value!r}") from None


def _options(**kw: Any) -> Any:
    from mailflip.sync import PassOptions

    return PassOptions(
        include=tuple(kw["include"] or ()),
        exclude=tuple(kw["exclude"] or ()),
        since=_date(kw["since"], "since"),
        before=_date(kw["before"], "before"),
        connections=kw["connections"],
        batch_messages=kw["batch_messages"],
        max_message_size=kw["max_message_size"],
        flagged_via_store=kw["flagged_via_store"],
    )


@app.command("sync")
def sync_command(
    source: Annotated[
        str, typer.Option(help="imap://user@host:port, imaps://..., maildir:///path")
    ],
    target: Annotated[str, typer.Option(help="same forms as --source")],
    state_dir: Annotated[Path, typer.Option(help="ledger directory (one per mailbox)")],
    pass_name: Annotated[
        str, typer.Option("--pass", help="label of this pass in the report")
    ] = "pass",
    source_password_file: Annotated[str | None, typer.Option()] = None,
    target_password_file: Annotated[str | None, typer.Option()] = None,
    source_oauth_token_file: Annotated[
        str | None, typer.Option(help="XOAUTH2 bearer token")
    ] = None,
    target_oauth_token_file: Annotated[
        str | None, typer.Option(help="XOAUTH2 bearer token")
    ] = None,
    include: Annotated[list[str] | None, typer.Option(help="folder glob, e.g. 'Archive/*'")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="folder glob to leave out")] = None,
    since: Annotated[str | None, typer.Option(help="YYYY-MM-DD: only messages on/after")] = None,
    before: Annotated[str | None, typer.Option(help="YYYY-MM-DD: only messages before")] = None,
    connections: Annotated[int, typer.Option(help="copy connections per side")] = 4,
    batch_messages: Annotated[int, typer.Option(help="messages per FETCH/APPEND batch")] = 200,
    max_message_size: Annotated[int | None, typer.Option(help="bytes; larger = item error")] = None,
    flagged_via_store: Annotated[bool, typer.Option(help="set \\Flagged after APPEND")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON summary")] = False,
    reconcile: Annotated[
        bool, typer.Option(help="after the pass, prove every message in scope is at the target")
    ] = True,
    subjects: Annotated[
        bool, typer.Option(help="show subjects of skipped / missing messages (privacy: off)")
    ] = False,
) -> None:
    """Copy every folder and message the target lacks; later passes copy only what is new.

    Then reconcile (R-RECONCILE, --no-reconcile to leave it out): every source message in
    scope is at the target (complete), or refused by it with a reason (skipped, exit 3
    like any item error), or missing (gaps, exit 4: run the same command again)."""
    from mailflip.sync import PassFailed, parse_endpoint, run_pass
    from mailflip.sync.reconcile import reconcile_mailbox

    try:
        src = parse_endpoint(
            source,
            "source",
            password_file=source_password_file,
            oauth_token_file=source_oauth_token_file,
            password_env="MAILFLIP_SOURCE_PASSWORD",
        )
        tgt = parse_endpoint(
            target,
            "target",
            password_file=target_password_file,
            oauth_token_file=target_oauth_token_file,
            password_env="MAILFLIP_TARGET_PASSWORD",
        )
        opts = _options(
            include=include,
            exclude=exclude,
            since=since,
            before=before,
            connections=connections,
            batch_messages=batch_messages,
            max_message_size=max_message_size,
            flagged_via_store=flagged_via_store,
        )
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    show_bar = not as_json and sys.stderr.isatty()
    try:
        if show_bar:
            report = _run_with_bar(lambda cb: run_pass(src, tgt, state_dir, pass_name, opts, cb))
        else:
            report = run_pass(src, tgt, state_dir, pass_name, opts)
        rec = reconcile_mailbox(src, tgt, state_dir, opts, subjects) if reconcile else None
    except PassFailed as exc:
        if as_json:
            typer.echo(json.dumps({**exc.report.to_dict(), "failed": str(exc)}, default=str))
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    except MailflipError as exc:  # the reconciliation's connection failed for good
        typer.echo(f"error: reconciliation: {exc} (the pass itself finished)", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    data = report.to_dict()
    if rec is not None:
        data["reconciliation"] = rec.to_dict()
    _print_report(data, as_json)
    if rec is not None and rec.missing:
        raise typer.Exit(EXIT_GAPS)
    if report.item_errors:
        raise typer.Exit(EXIT_ITEM_ERRORS)


def _run_with_bar(run: Callable[[Callable[[Any], None]], Any]) -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[msgs]}"),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("listing folders", total=None, msgs="")

        def update(p: Any) -> None:
            bar.update(
                task,
                description=f"[{p.folders_done}/{p.folders_total}] {p.folder}",
                completed=p.bytes_copied,
                total=p.bytes_to_copy or None,
                msgs=f"{p.messages_copied}/{p.messages_to_copy} msgs",
            )

        return run(update)


def _print_report(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, default=str, ensure_ascii=False))
        return
    typer.echo(
        f"{data['pass_name']}: {data['messages_copied']} copied, "
        f"{data['messages_skipped']} skipped, "
        f"{data['messages_seen']} seen in {data['folders_seen']} folders; "
        f"{data['bytes_copied'] / 1e6:.1f} MB in {data['duration_s']:.2f}s "
        f"({data['throughput_msgs_s']} msg/s); flags updated {data['flags_updated']}; "
        f"item errors {len(data['item_errors'])}"
    )
    for item in data["item_errors"]:
        typer.echo(
            f"  {item['folder']} uid={item['uid']} {item['message_id'] or ''}: {item['reason']}"
        )
    rec = data.get("reconciliation")
    if rec:
        from mailflip.cli.app import console
        from mailflip.stack.report import print_absent

        typer.echo(
            f"reconciliation: {rec['grade']}: {rec['source']} messages in scope at the source "
            f"({rec['source_bytes'] / 1e6:.1f} MB), {rec['target']} at the target, "
            f"{rec['skipped']} skipped, {rec['missing']} missing"
        )
        absent = rec["skipped_messages"] + rec["missing_messages"]
        if absent:
            print_absent(absent, console())


@app.command("sync-batch")
def sync_batch_command(
    csv_file: Annotated[
        Path, typer.Argument(help="CSV: source,target,state_dir[,pass,...] with header")
    ],
    concurrency: Annotated[int, typer.Option(help="mailboxes at once")] = 4,
    max_connections: Annotated[int, typer.Option(help="global connection cap")] = 64,
    per_host: Annotated[int, typer.Option(help="connections per IMAP host")] = 16,
    connections: Annotated[int, typer.Option(help="copy connections per mailbox side")] = 2,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run one pass for every mailbox in FILE.csv, several at once, within connection limits."""
    from mailflip.sync import PassOptions
    from mailflip.sync.batch import load_batch, run_batch

    try:
        rows = load_batch(csv_file)
        results = run_batch(
            rows, concurrency, max_connections, per_host, PassOptions(connections=connections)
        )
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], default=str, ensure_ascii=False))
    else:
        for r in results:
            typer.echo(r.summary())
    if any(r.error for r in results):
        raise typer.Exit(EXIT_FAILED)
