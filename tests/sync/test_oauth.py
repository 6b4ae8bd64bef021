"""XOAUTH2 logins against a real Dovecot whose oauth2 passdb introspects tokens over HTTP."""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailflip.sync import PassFailed, parse_endpoint, run_pass
from tests.sync.mail import ids_by_folder, make_msg, put, snapshot
from tests.sync.oauth import OAuthDovecot

_names = itertools.count(1)
CLI = [sys.executable, "-c", "from mailflip.cli.app import main; main()"]


def _user(env: OAuthDovecot, role: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    return env.server.add_user(f"oa{role}{worker}n{next(_names)}")


def _token_file(tmp_path: Path, name: str, token: str) -> str:
    path = tmp_path / f"{name}.token"
    path.write_text(token + "\n")
    return str(path)


@pytest.mark.parametrize("oauth_side", ["source", "target", "both"])
def test_pass_logging_in_with_xoauth2_copies_everything(oauth_dovecot, tmp_path, oauth_side):
    server, issuer = oauth_dovecot.server, oauth_dovecot.issuer
    src, dst = _user(oauth_dovecot, "src"), _user(oauth_dovecot, "dst")
    put(
        server,
        src,
        {"INBOX": [make_msg(i) for i in range(5)], "Archive": [make_msg(i) for i in range(5, 8)]},
    )
    tokens = {}

    def endpoint(side: str, user: str):  # type: ignore[no-untyped-def]
        if oauth_side in (side, "both"):
            tokens[side] = issuer.issue(user)
            return parse_endpoint(
                server.url(user, password=False),
                side,
                oauth_token_file=_token_file(tmp_path, side, tokens[side]),
            )
        return parse_endpoint(server.url(user), side)

    report = run_pass(endpoint("source", src), endpoint("target", dst), tmp_path / "state")

    assert report.messages_copied == 8 and report.complete and not report.item_errors
    assert ids_by_folder(snapshot(server, dst)) == ids_by_folder(snapshot(server, src))
    # Dovecot really asked the introspection endpoint about each token we logged in with.
    assert set(tokens.values()) <= set(issuer.lookups)
    log = (server.base / "dovecot.log").read_text()
    for side, user in (("source", src), ("target", dst)):
        if side in tokens:
            assert f"user=<{user}>, method=XOAUTH2" in log


@pytest.mark.parametrize("bad_side", ["source", "target"])
def test_wrong_token_fails_the_pass_for_good_and_never_shows_the_token(
    oauth_dovecot, tmp_path, caplog, bad_side
):
    server, issuer = oauth_dovecot.server, oauth_dovecot.issuer
    src, dst = _user(oauth_dovecot, "src"), _user(oauth_dovecot, "dst")
    put(server, src, {"INBOX": [make_msg(0)]})
    wrong = f"tok-not-issued-{bad_side}-{next(_names)}"
    good_user = src if bad_side == "target" else dst
    good = parse_endpoint(
        server.url(good_user, password=False),
        "x",
        oauth_token_file=_token_file(tmp_path, "good", issuer.issue(good_user)),
    )
    bad = parse_endpoint(
        server.url(dst if bad_side == "target" else src, password=False),
        bad_side,
        oauth_token_file=_token_file(tmp_path, "bad", wrong),
    )
    source, target = (good, bad) if bad_side == "target" else (bad, good)

    caplog.set_level(logging.DEBUG)
    with pytest.raises(PassFailed) as failed:
        run_pass(source, target, tmp_path / "state")

    assert failed.value.retryable is False
    assert "refused" in str(failed.value)
    assert wrong in issuer.lookups  # refused by introspection, not by some other check
    shown = [
        str(failed.value),
        repr(failed.value),
        json.dumps(failed.value.report.to_dict(), default=str),
        caplog.text,
        repr(bad),
    ]
    assert not any(wrong in text for text in shown)
    assert failed.value.report.messages_copied == 0


def test_cli_with_a_wrong_token_file_exits_failed_without_printing_it(oauth_dovecot, tmp_path):
    server, issuer = oauth_dovecot.server, oauth_dovecot.issuer
    src, dst = _user(oauth_dovecot, "src"), _user(oauth_dovecot, "dst")
    put(server, src, {"INBOX": [make_msg(0)]})
    wrong = "tok-cli-wrong-" + src
    out = subprocess.run(
        [
            *CLI,
            "sync",
            "--source",
            server.url(src, password=False),
            "--source-oauth-token-file",
            _token_file(tmp_path, "src", wrong),
            "--target",
            server.url(dst, password=False),
            "--target-oauth-token-file",
            _token_file(tmp_path, "dst", issuer.issue(dst)),
            "--state-dir",
            str(tmp_path / "state"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "refused" in out.stderr and json.loads(out.stdout)["messages_copied"] == 0
    assert wrong not in out.stdout + out.stderr
    assert wrong in issuer.lookups
