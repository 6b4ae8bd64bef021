"""`mailflip keys ...`: new keys for the settings (printed, never stored anywhere)."""

from __future__ import annotations

import typer

from mailflip.cli.app import app

keys = typer.Typer(
    name="keys", no_args_is_help=True, short_help="Make keys: payload (Temporal), secret.",
    help="Print a new key for a setting. It is shown once, here: put it in your secret "
    "store and the workers' environment; mailflip keeps no copy.")
app.add_typer(keys, name="keys")


@keys.command("payload")
def payload_cmd(key_id: str = typer.Option(
        "", "--id", help="The key's id (default: k and today's date, e.g. k20261207)")) -> None:
    """A Temporal payload key, `ID:KEY`. To rotate, put it first in MAILFLIP_PAYLOAD_KEYS
    and keep the old ones after it until no running order's history needs them."""
    import base64
    import os
    from datetime import UTC, datetime

    from mailflip.config import parse_payload_keys

    item = f"{key_id or datetime.now(UTC).strftime('k%Y%m%d')}:" \
        f"{base64.urlsafe_b64encode(os.urandom(32)).decode()}"
    try:
        parse_payload_keys(item)
    except ValueError as exc:
        typer.echo(f"--id: {exc}", err=True)
        raise SystemExit(2) from None
    typer.echo(item)


@keys.command("secret")
def secret_cmd() -> None:
    """A key for MAILFLIP_SECRET_KEY (credentials at rest, Fernet)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())
