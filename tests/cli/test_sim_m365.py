"""`mailflip sim m365`: a local Microsoft 365 a worker signs in to over https, with the
tenant's app credentials in a file (never printed)."""

from __future__ import annotations

import json
import shlex
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from mailflip.errors import CredentialsInvalid
from mailflip.tenant.auth import MsalTokenSource, TenantCredentials
from mailflip.tenant.port import TenantRef
from mailflip.tenant.simulator import GRAPH_SCOPE

from .cli import MAILFLIP, REPO, env_for, mailflip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[str], timeout_s: float = 30.0,
             written: Path | None = None) -> None:
    """Until the simulator listens on `port` and, if given, has written `written` (the
    env file, written atomically once serving: just after the port opens)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0 and (written is None
                                                          or written.is_file()):
                return
        time.sleep(0.05)  # polling the port, not waiting for a state
    raise TimeoutError(f"mailflip sim m365 did not listen on {port}")


async def test_sim_m365_serves_a_tenant_a_worker_signs_in_to_with_the_written_credentials(
        tmp_path: Path) -> None:
    port, state = free_port(), tmp_path / "m365"
    proc = subprocess.Popen([MAILFLIP, "sim", "m365", "--port", str(port), "--state",
                             str(state), "--licences", "5", "--imap-port", "0"],
                            env=env_for(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(port, proc)
        creds_file = state / "tenant.yaml"
        assert creds_file.stat().st_mode & 0o077 == 0  # the owner's only
        secret = yaml.safe_load(creds_file.read_text())
        creds = TenantCredentials(secret["tenant_id"], secret["client_id"],
                                  secret["client_secret"])

        async def lookup(t: TenantRef) -> TenantCredentials:
            return creds

        url, ref = f"https://127.0.0.1:{port}", TenantRef("o1", "contoso.onmicrosoft.com")
        token = await MsalTokenSource(lookup, url, verify=str(state / "cert.pem")).token(
            ref, GRAPH_SCOPE)
        assert token

        async def wrong(t: TenantRef) -> TenantCredentials:
            return TenantCredentials(creds.tenant, creds.client_id, "not-the-secret")

        with pytest.raises(CredentialsInvalid):
            await MsalTokenSource(wrong, url, verify=str(state / "cert.pem")).token(
                ref, GRAPH_SCOPE)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert f"MAILFLIP_M365_GRAPH_URL=https://127.0.0.1:{port}" in out
    assert f"--file {creds_file}" in out
    assert secret["client_secret"] not in out + err


def test_sim_m365_refuses_a_bad_initial_domain_naming_it(tmp_path: Path) -> None:
    result = mailflip("sim", "m365", "--domain", "contoso.com", "--state",
                      str(tmp_path / "m365"), env=env_for(tmp_path))
    assert result.returncode == 2
    assert "domain: 'contoso.com' is not of the form <name>.onmicrosoft.com" in result.stderr
    assert not (tmp_path / "m365").exists()  # nothing made


def _env_from(path: Path, base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    for line in path.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0] if value else ""
    return env


def _serve(port: int, state: Path, env: dict[str, str], *extra: str,
           imap_port: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen([MAILFLIP, "sim", "m365", "--port", str(port), "--state",
                             str(state), "--licences", "5", "--imap-port",
                             str(imap_port or free_port()), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()  # a graceful stop: the tenant is saved on the way out
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped; the tenant is saved" in err
    return out + err


def test_sim_m365_env_file_drives_tenant_check_and_the_tenant_survives_a_restart(
        tmp_path: Path) -> None:
    port, state, env_file = free_port(), tmp_path / "m365", tmp_path / "m365.env"
    order = tmp_path / "order.yaml"
    order.write_text(mailflip("orders", "example", env=env_for(tmp_path)).stdout)
    imap_port = free_port()  # the same after the restart, as the env file says
    proc = _serve(port, state, env_for(tmp_path), "--env-file", str(env_file),
                  imap_port=imap_port)
    try:
        wait_for(port, proc, written=env_file)
        env = _env_from(env_file, env_for(tmp_path))
        assert env_file.stat().st_mode & 0o077 == 0
        assert env["MAILFLIP_LIVE_TENANT"] == "contoso.onmicrosoft.com"
        secret = env["MAILFLIP_M365_CLIENT_SECRET"]
        check = mailflip("tenant", "check", "--tenant", "contoso.onmicrosoft.com", "--order",
                         str(order), "--add-domains", "--json", env=env)
        assert check.returncode == 0, check.stdout + check.stderr
        report = json.loads(check.stdout)
        verdicts = {c["name"]: c["verdict"] for c in report["checks"]}
        assert verdicts["sign-in"] == verdicts["Graph permissions"] == "go"
        assert verdicts["licences O365_BUSINESS_PREMIUM"] == "go"
        assert verdicts["domain contoso.example"] == "warn"  # TXT to publish
        assert verdicts["IMAP"] == "go"  # its mailboxes' endpoint answers, offering XOAUTH2
        assert secret not in check.stdout + check.stderr
    finally:
        output = _stop(proc)
    assert secret not in output

    proc = _serve(port, state, env_for(tmp_path), imap_port=imap_port)
    try:
        wait_for(port, proc)
        wait_for(imap_port, proc)  # served just after https
        table = mailflip("tenant", "check", "--tenant", "contoso.onmicrosoft.com", "--order",
                         str(order), env=env)  # the domain is still there after a restart
        assert table.returncode == 0, table.stdout + table.stderr
        assert 'publish TXT "MS=ms' in table.stdout and "GO" in table.stdout
        seen = httpx.get(f"https://127.0.0.1:{port}/_sim/tenants.json",
                         verify=ssl.create_default_context(cafile=state / "cert.pem")).json()
        assert [d["name"] for d in seen[0]["domains"]] == ["contoso.onmicrosoft.com",
                                                           "contoso.example"]
        assert [a["name"] for a in seen[0]["apps"]] == []  # read only: no MigrationApp
        assert secret not in json.dumps(seen)
    finally:
        _stop(proc)


def test_tenant_check_without_credentials_names_what_is_missing(tmp_path: Path) -> None:
    result = mailflip("tenant", "check", "--tenant", "contoso.onmicrosoft.com",
                      env=env_for(tmp_path))
    assert result.returncode == 2
    assert "MAILFLIP_M365_CLIENT_ID is missing" in result.stderr


def test_live_contract_leg_passes_against_sim_m365_over_https(tmp_path: Path) -> None:
    """The live leg of the tenant contract, run as the README says against a real
    tenant, here against `mailflip sim m365` (no delays, via --config): msal over https,
    the env file's settings, and the clean-up of what the leg created."""
    port, state, env_file = free_port(), tmp_path / "m365", tmp_path / "m365.env"
    knobs = tmp_path / "knobs.yaml"
    knobs.write_text("knobs: {new_user_hidden_reads: 0, mailbox_delay_s: 0, "
                     "usage_location_delay_s: 0, accepted_domain_delay_s: 0, "
                     "grant_delay_s: 0}\n")
    proc = _serve(port, state, env_for(tmp_path), "--env-file", str(env_file),
                  "--config", str(knobs))
    try:
        wait_for(port, proc, written=env_file)
        env = _env_from(env_file, env_for(tmp_path))
        leg = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
             "tests/contracts/test_tenant_contract.py::test_tenant_contract[live]"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert leg.returncode == 0 and "1 passed" in leg.stdout, leg.stdout + leg.stderr
        assert env["MAILFLIP_M365_CLIENT_SECRET"] not in leg.stdout + leg.stderr
        seen = httpx.get(f"https://127.0.0.1:{port}/_sim/tenants.json",
                         verify=ssl.create_default_context(cafile=state / "cert.pem")).json()
        # removed again: its users, its vanity domain, MigrationApp
        assert seen[0]["users"] == [] and seen[0]["apps"] == []
        assert [d["name"] for d in seen[0]["domains"]] == ["contoso.onmicrosoft.com"]
    finally:
        _stop(proc)


def test_sim_m365_refuses_a_bad_config_naming_the_knob(tmp_path: Path) -> None:
    bad = tmp_path / "knobs.yaml"
    bad.write_text("knobs: {mailbox_delay: 60}\n")
    result = mailflip("sim", "m365", "--config", str(bad), "--state", str(tmp_path / "m365"),
                      env=env_for(tmp_path))
    assert result.returncode == 2
    assert "knobs.mailbox_delay: unknown knob" in result.stderr
    assert not (tmp_path / "m365").exists()  # nothing made
