"""`mailflip users ...`: the portal's accounts (partner and support)."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

from mailflip.cli.app import app, console
from mailflip.domain.names import Role

users = typer.Typer(
    name="users", no_args_is_help=True, short_help="Portal accounts: add, change password, list.",
    help="The portal's accounts, in the store of MAILFLIP_DATABASE_URL. A partner account "
    "sees and changes only its partner organisation's orders; a support account sees "
    "every order. Passwords are kept only as argon2 hashes.")
app.add_typer(users, name="users")
out = console()
err = console(stderr=True)

PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from "
                              "standard input (for scripts) instead of asking for it.")


def _exit(code: int) -> NoReturn:
    raise SystemExit(code)


def _store() -> Any:
    from mailflip.config import get_settings
    from mailflip.store.repositories import create_store

    return create_store(get_settings().database_url)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = typer.prompt("Password (at least 12 characters)", hide_input=True)
    if typer.prompt("The same again", hide_input=True) != first:
        err.print("[bold red]invalid input:[/] password: the two entries differ")
        _exit(2)
    return str(first)


def _run(action: Any) -> None:
    from mailflip.errors import InvalidInput

    store = _store()
    try:
        action(store)
    except InvalidInput as exc:
        err.print(f"[bold red]invalid input:[/] {exc}")
        _exit(2)
    finally:
        store.close()


@users.command("add")
def add_cmd(email: str = typer.Argument(..., help="The account's email (its sign-in name)."),
            role: Role = typer.Option(..., "--role", help="partner or support."),
            partner: str = typer.Option("", "--partner", help="The partner organisation "
                                        "(partner accounts), e.g. acme-msp: its orders are "
                                        "the ones whose `partner` is this."),
            password_stdin: bool = PASSWORD_STDIN) -> None:
    """Add a portal account. Bad input exits 2 naming the field and adds nothing."""
    from mailflip.store.accounts import normal_email
    from mailflip.web.passwords import hash_password

    def add(store: Any) -> None:
        normal_email("email", email)  # before asking for a password
        if store.account(email) is not None:
            from mailflip.errors import InvalidInput
            raise InvalidInput("email", f"an account {email.strip().lower()} exists already")
        a = store.add_account(email, role, partner or None,
                              hash_password(_password(password_stdin), email=email))
        store.audit("cli", "add_account", after={"email": a.email, "role": a.role.value,
                                                 "partner": a.partner})
        out.print(f"[green]added:[/] {a.email} ({a.role.value}"
                  f"{', ' + a.partner if a.partner else ''})")
    _run(add)


@users.command("passwd")
def passwd_cmd(email: str = typer.Argument(..., help="The account's email."),
               password_stdin: bool = PASSWORD_STDIN) -> None:
    """Set a new password: the account's sessions end and a lock-out is lifted."""
    from mailflip.web.passwords import hash_password

    def change(store: Any) -> None:
        if store.account(email) is None:
            from mailflip.errors import InvalidInput
            raise InvalidInput("email", f"no account {email.strip().lower()}")
        store.set_password(email, hash_password(_password(password_stdin), email=email))
        store.audit("cli", "set_password", after={"email": email.strip().lower()})
        out.print(f"[green]password changed:[/] {email.strip().lower()}; its sessions ended")
    _run(change)


@users.command("list")
def list_cmd() -> None:
    """Every account: email, role, partner, and whether it is locked."""
    def show(store: Any) -> None:
        for a in store.accounts():
            locked = f"  locked until {a.locked_until:%Y-%m-%d %H:%M} UTC" \
                if a.locked_until else ""
            out.print(f"{a.email}  {a.role.value}  {a.partner or '-'}{locked}")
    _run(show)
