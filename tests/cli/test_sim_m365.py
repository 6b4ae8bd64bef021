"""`mailflip sim m365`: a local Microsoft 365 a worker signs in to over https, with the
tenant's app credentials in a file (never printed)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from mailflip.errors import CredentialsInvalid
from mailflip.tenant.auth import MsalTokenSource, TenantCredentials
from mailflip.tenant.port import TenantRef
from mailflip.tenant.simulator import GRAPH_SCOPE

from .cli import MAILFLIP, env_for, mailflip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[str], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)  # polling the port, not waiting for a state
    raise TimeoutError(f"mailflip sim m365 did not listen on {port}")


async def test_sim_m365_serves_a_tenant_a_worker_signs_in_to_with_the_written_credentials(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # would override msal's CA file
        monkeypatch.delenv(name, raising=False)
    port, state = free_port(), tmp_path / "m365"
    proc = subprocess.Popen([MAILFLIP, "sim", "m365", "--port", str(port), "--state",
                             str(state), "--licences", "5"], env=env_for(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
