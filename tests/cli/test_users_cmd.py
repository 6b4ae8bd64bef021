"""`mailflip users`: portal accounts from the command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mailflip.store.repositories import create_store
from mailflip.web.passwords import verify_password

from .cli import MAILFLIP, env_for


def users(tmp: Path, *args: str, password: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([MAILFLIP, "users", *args], capture_output=True, text=True,
                          env=env_for(tmp), cwd=tmp, input=password + "\n", timeout=60)


def test_users_add_then_passwd_keeps_only_a_hash_and_ends_sessions(tmp_path: Path) -> None:
    r = users(tmp_path, "add", "Ann@Acme.example", "--role", "partner", "--partner",
              "acme-msp", "--password-stdin", password="first password 1")
    assert r.returncode == 0, r.stderr
    assert "added: ann@acme.example (partner, acme-msp)" in r.stdout
    assert "first password" not in r.stdout + r.stderr
    store = create_store(f"sqlite:///{tmp_path}/mailflip.db")
    try:
        a = store.account("ann@acme.example")
        assert a is not None and verify_password(a.password_hash, "first password 1")
        assert "first password" not in a.password_hash
        store.open_session("s1", "ann@acme.example")

        r = users(tmp_path, "passwd", "ann@acme.example", "--password-stdin",
                  password="second password 2")
        assert r.returncode == 0, r.stderr
        a = store.account("ann@acme.example")
        assert verify_password(a.password_hash, "second password 2")
        assert store.session_count("ann@acme.example") == 0
        assert "ann@acme.example  partner  acme-msp" in users(tmp_path, "list").stdout
    finally:
        store.close()


def test_users_add_refuses_bad_input_naming_the_field_and_adds_nothing(tmp_path: Path) -> None:
    for args, password, field in (
            (("nobody", "--role", "partner", "--partner", "x"), "long enough pass", "email"),
            (("a@b.example", "--role", "partner"), "long enough pass", "partner"),
            (("a@b.example", "--role", "support"), "short", "password")):
        r = users(tmp_path, "add", *args, "--password-stdin", password=password)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert f"invalid input: {field}:" in " ".join(r.stderr.split()), r.stderr
        assert "Traceback" not in r.stderr
    assert users(tmp_path, "list").stdout.strip() == ""
    r = users(tmp_path, "passwd", "ghost@b.example", "--password-stdin",
              password="long enough pass")
    assert r.returncode == 2 and "email" in r.stderr
