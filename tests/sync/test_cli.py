"""`mailflip sync` / `mailflip sync-batch` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mailflip.errors import InvalidInput
from mailflip.sync import PassOptions, parse_endpoint
from tests.sync.mail import ids_by_folder, make_msg, put, snapshot

CLI = [sys.executable, "-c", "from mailflip.cli.app import main; main()"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_sync_json_prints_one_summary_and_never_the_password(dovecot, account, tmp_path):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(3)]})
    secret = tmp_path / "target.pw"
    secret.write_text("pw\n")
    out = _run(
        "sync",
        "--source",
        dovecot.url(src, password=False),
        "--target",
        dovecot.url(dst, password=False),
        "--target-password-file",
        str(secret),
        "--state-dir",
        str(tmp_path / "s"),
        "--json",
        env={"MAILFLIP_SOURCE_PASSWORD": "pw"},
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["messages_copied"] == 3 and summary["duration_s"] > 0
    assert {"bytes_copied", "item_errors", "throughput_msgs_s", "folders_seen"} <= set(summary)
    assert ":pw@" not in out.stdout + out.stderr


def test_sync_rejects_bad_input_naming_the_field(tmp_path):
    out = _run(
        "sync",
        "--source",
        "ftp://x@h",
        "--target",
        "maildir:///tmp/x",
        "--state-dir",
        str(tmp_path),
    )
    assert out.returncode == 2 and "source" in out.stderr and "unsupported scheme" in out.stderr
    out = _run(
        "sync",
        "--source",
        f"maildir://{tmp_path}",
        "--target",
        f"maildir://{tmp_path}/t",
        "--state-dir",
        str(tmp_path),
        "--since",
        "2024-13-01",
    )
    assert out.returncode == 2 and "since" in out.stderr


@pytest.mark.parametrize(
    ("url", "field", "text"),
    [
        ("imap://host", "source", "missing user"),
        ("imap://u@", "source", "missing host"),
        ("maildir://relative", "source", "absolute path"),
        ("imap://u@h:notaport", "source", "port"),
    ],
)
def test_endpoint_errors_name_the_field(url, field, text):
    with pytest.raises(InvalidInput) as err:
        parse_endpoint(url, field, password_env="UNSET_FOR_TEST")
    assert err.value.field == field and text in err.value.message


def test_endpoint_takes_password_from_env_and_token_file_and_hides_both(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILFLIP_SOURCE_PASSWORD", "s3cret")
    ep = parse_endpoint(
        "imaps://alice@mail.example.com", "source", password_env="MAILFLIP_SOURCE_PASSWORD"
    )
    assert ep.password == "s3cret" and ep.port == 993
    assert "s3cret" not in repr(ep) and "s3cret" not in ep.display
    token = tmp_path / "tok"
    token.write_text("bearer-xyz")
    ep2 = parse_endpoint("imap://bob@h", "target", oauth_token_file=str(token))
    assert ep2.oauth_token == "bearer-xyz" and "bearer" not in repr(ep2)
    with pytest.raises(InvalidInput, match="no password"):
        parse_endpoint("imap://bob@h", "target", password_env="UNSET_FOR_TEST")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"connections": 0}, "connections"),
        ({"batch_messages": -1}, "batch_messages"),
        ({"max_message_size": 0}, "max_message_size"),
        ({"include": "INBOX"}, "include"),
    ],
)
def test_options_refuse_bad_values_naming_the_field(kwargs, field):
    with pytest.raises(InvalidInput) as err:
        PassOptions(**kwargs)
    assert err.value.field == field


def test_sync_batch_runs_mailboxes_concurrently_within_limits(dovecot, account, tmp_path):
    rows = []
    pairs = []
    for i in range(3):
        src, dst = account("src"), account("dst")
        put(
            dovecot,
            src,
            {
                "INBOX": [make_msg(10 * i + j, tag=f"b{i}") for j in range(4)],
                "F": [make_msg(99, tag=f"b{i}")],
            },
        )
        rows.append(f"{dovecot.url(src)},{dovecot.url(dst)},{tmp_path / f's{i}'}")
        pairs.append((src, dst))
    csv_file = tmp_path / "batch.csv"
    csv_file.write_text("source,target,state_dir\n" + "\n".join(rows) + "\n")
    out = _run(
        "sync-batch",
        str(csv_file),
        "--concurrency",
        "2",
        "--max-connections",
        "12",
        "--per-host",
        "12",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert [r["report"]["messages_copied"] for r in results] == [5, 5, 5]
    for src, dst in pairs:
        assert ids_by_folder(snapshot(dovecot, dst, bodies=False)) == ids_by_folder(
            snapshot(dovecot, src, bodies=False)
        )


def test_sync_batch_refuses_a_file_without_required_columns(tmp_path):
    bad = tmp_path / "b.csv"
    bad.write_text("source,target\nimap://a:pw@h,imap://b:pw@h\n")
    out = _run("sync-batch", str(bad))
    assert out.returncode == 2 and "state_dir" in out.stderr


def test_r_reconcile_sync_proves_the_copy_in_json_and_in_a_table(
    dovecot, limited_dovecot, account, tmp_path
):
    src = account("src")
    dst = limited_dovecot.add_user(f"cli{os.environ.get('PYTEST_XDIST_WORKER', 'gw')}t")
    big = make_msg(9, size=100_000, tag="cli-big")
    put(dovecot, src, {"INBOX": [make_msg(i, tag="cli") for i in range(3)] + [big]})
    args = ["sync", "--source", dovecot.url(src), "--target", limited_dovecot.url(dst),
            "--state-dir", str(tmp_path / "s")]
    out = _run(*args, "--json")
    assert out.returncode == 3, out.stderr  # a refused message is an item error
    rec = json.loads(out.stdout)["reconciliation"]
    assert (rec["grade"], rec["source"], rec["target"], rec["missing"]) == ("skipped", 4, 3, 0)
    [skip] = rec["skipped_messages"]
    assert skip["message_id"] == big.message_id and "target refused" in skip["reason"]
    assert skip["subject"] == ""  # subjects only with --subjects

    table = _run(*args, "--subjects")
    assert table.returncode == 3
    assert "reconciliation: skipped: 4 messages in scope" in table.stdout
    assert big.message_id in table.stdout and "test message 9 cli-big" in table.stdout
    bare = _run(*args, "--json", "--no-reconcile")
    assert "reconciliation" not in json.loads(bare.stdout)


# What a no-change resync process must not pay for at start-up (issue 12: <= 0.3 s for the
# whole process): the store's ORM, the orchestration, the web stack, the other commands.
NOT_FOR_A_PASS = ("sqlalchemy", "pydantic", "temporalio", "fastapi", "httpx", "jinja2",
                  "structlog", "rich", "mailflip.store", "mailflip.lifecycle",
                  "mailflip.cli.orders_cmd", "mailflip.cli.stack_cmd")


def test_sync_imports_only_what_a_pass_needs(dovecot, account, tmp_path):
    src, dst = account("src"), account("dst")
    put(dovecot, src, {"INBOX": [make_msg(i) for i in range(2)]})
    seen = tmp_path / "modules.txt"
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: open({str(seen)!r}, 'w').write('\\n'.join(sys.modules)))\n"
            "from mailflip.cli.app import main; main()")
    out = subprocess.run(
        [sys.executable, "-c", code, "sync", "--source", dovecot.url(src), "--target",
         dovecot.url(dst), "--state-dir", str(tmp_path / "s"), "--json"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["messages_copied"] == 2
    modules = set(seen.read_text().split())
    assert "mailflip.sync.engine" in modules
    loaded = sorted(m for m in modules if any(m == n or m.startswith(n + ".")
                                              for n in NOT_FOR_A_PASS))
    assert loaded == []
