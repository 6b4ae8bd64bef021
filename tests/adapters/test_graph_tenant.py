"""GraphTenant (the production Tenant adapter) against the local Microsoft 365, in
process: httpx over ASGI for Graph, Exchange and the token endpoint; one test serves the
simulator for real (TLS on a free port) for the msal-backed token source."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailflip.errors import (
    CredentialsInvalid,
    GraphNonConformant,
    TenantNotReady,
    TenantStepUnsupported,
)
from mailflip.tenant.auth import (
    GRAPH_SCOPE,
    CredentialsSource,
    FormTokenSource,
    MsalTokenSource,
    TenantCredentials,
)
from mailflip.tenant.graph import GraphTenant
from mailflip.tenant.port import MailboxToCreate, TenantRef
from mailflip.tenant.simulator import (
    ManualClock,
    SimulatedTenant,
    SimulatorConfig,
    create_app,
    serve,
)
from mailflip.tenant.simulator.local import write_self_signed
from tests.adapters.m365_world import (
    BASE,
    CLIENT_ID,
    INITIAL,
    SECRET,
    TENANT_ID,
    Dns,
    config,
    knobs,
)

REF = TenantRef("order-1", INITIAL)
VANITY = "fabrikam.com"


class Recording(httpx.AsyncBaseTransport):
    """The ASGI transport, remembering what was sent (method, path)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)


@dataclass
class World:
    tenant: GraphTenant
    state: SimulatedTenant
    transport: Recording
    slept: list[float] = field(default_factory=list)


def credentials(secret: str = SECRET) -> CredentialsSource:
    async def lookup(t: TenantRef) -> TenantCredentials:
        return TenantCredentials(t.initial_domain, CLIENT_ID, secret)
    return lookup


@asynccontextmanager
async def world(cfg: SimulatorConfig | None = None, secret: str = SECRET
                ) -> AsyncIterator[World]:
    app = create_app(cfg or config())
    transport = Recording(httpx.ASGITransport(app=app))
    async with httpx.AsyncClient(transport=transport) as http:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:  # Retry-After obeyed without waiting
            slept.append(seconds)

        creds = credentials(secret)
        tenant = GraphTenant(creds, login_url=BASE, graph_url=BASE, exo_url=BASE, http=http,
                             tokens=FormTokenSource(creds, http, BASE), sleep=sleep)
        yield World(tenant, app.state.tenants[TENANT_ID], transport, slept)


def users(n: int) -> list[MailboxToCreate]:
    return [MailboxToCreate(f"user{i:02d}@{VANITY}", f"User {i}", on_initial_domain=True)
            for i in range(n)]


async def verified_vanity(w: World, dns: Dns) -> None:
    await w.tenant.setup(REF, [VANITY])
    dns.txt[VANITY] = await w.tenant.domain_txt(REF, VANITY)
    assert await w.tenant.verify_domain(REF, VANITY)


async def test_setup_twice_creates_migration_app_once_with_exchange_access() -> None:
    async with world() as w:
        first = await w.tenant.setup(REF, [VANITY])
        second = await w.tenant.setup(REF, [VANITY])
        apps = [a for a in w.state.applications.values() if a.display_name == "MigrationApp"]
        assert len(apps) == 1
        sps = [s for s in w.state.service_principals.values() if s.app_id == apps[0].app_id]
        assert len(sps) == 1
        assert [g.principal_id for g in w.state.grants.values()] == [sps[0].id]
        assert [s.app_id for s in w.state.exchange.service_principals.values()] == [
            apps[0].app_id]
        assert [a.role for a in w.state.exchange.role_assignments.values()] == [
            "Application Mail.ReadWrite"]
        assert first == second
        assert first.verified_domains == []  # added, not verified yet
        assert first.licenses_available == {"O365_BUSINESS_PREMIUM": 2}
        assert VANITY in w.state.domains


async def test_setup_with_every_create_reply_lost_still_makes_one_migration_app() -> None:
    async with world(config(knobs(lose_create_every=1))) as w:
        await w.tenant.setup(REF, [VANITY])
        await w.tenant.setup(REF, [VANITY])
        apps = [a for a in w.state.applications.values() if a.display_name == "MigrationApp"]
        assert len(apps) == 1
        assert len([s for s in w.state.service_principals.values()
                    if s.app_id == apps[0].app_id]) == 1
        assert len(w.state.grants) == 1
        assert list(w.state.domains).count(VANITY) == 1


async def test_bad_secret_raises_credentials_invalid() -> None:
    async with world(secret="wrong") as w:
        with pytest.raises(CredentialsInvalid, match="AADSTS7000215|7000215"):
            await w.tenant.setup(REF, [])


async def test_domain_verifies_only_once_its_txt_record_is_published() -> None:
    dns = Dns()
    async with world(config(dns=dns)) as w:
        await w.tenant.setup(REF, [VANITY])
        txt = await w.tenant.domain_txt(REF, VANITY)
        assert len(txt) == 1 and txt[0].startswith("MS=ms")
        assert await w.tenant.verify_domain(REF, VANITY) is False
        dns.txt[VANITY] = txt
        assert await w.tenant.verify_domain(REF, VANITY) is True
        assert w.state.domains[VANITY].is_verified
        assert "Email" in w.state.domains[VANITY].supported_services
        assert (await w.tenant.setup(REF, [VANITY])).verified_domains == [VANITY]


async def test_30_mailboxes_through_batch_under_throttling_are_each_created_once() -> None:
    async with world(config(knobs(throttle_every=7, retry_after_s=3), units=30)) as w:
        await w.tenant.setup(REF, [])
        results = await w.tenant.create_mailboxes(REF, users(30))
        assert results == {m.address: None for m in users(30)}
        upns = sorted(u.user_principal_name for u in w.state.users.values())
        assert upns == sorted(f"user{i:02d}@{INITIAL}" for i in range(30))
        assert all(len(u.licenses) == 1 for u in w.state.users.values())
        assert w.slept and set(w.slept) == {3.0}  # throttled, and Retry-After obeyed
        assert ("POST", "/v1.0/users") not in w.transport.sent  # users go through $batch
        batches = w.transport.sent.count(("POST", "/v1.0/$batch"))
        assert batches < 30  # 30 users + 30 licences in a few round trips, not 60
        sp = next(iter(w.state.exchange.service_principals.values()))
        assert len([p for p in w.state.exchange.permissions if p.trustee == sp.guid]) == 30


async def test_lost_create_responses_are_resolved_by_upn_without_duplicates() -> None:
    async with world(config(knobs(lose_create_every=1), units=3)) as w:
        results = await w.tenant.create_mailboxes(REF, users(3))
        assert results == {m.address: None for m in users(3)}
        assert len(w.state.users) == 3
        assert all(len(u.licenses) == 1 for u in w.state.users.values())


async def test_insufficient_licences_give_per_address_error_text() -> None:
    async with world(config(units=2)) as w:
        results = await w.tenant.create_mailboxes(REF, users(3))
        failed = {a: e for a, e in results.items() if e is not None}
        assert list(failed) == [f"user02@{VANITY}"]
        assert "no licence available" in failed[f"user02@{VANITY}"]
        assert "O365_BUSINESS_PREMIUM (0 free)" in failed[f"user02@{VANITY}"]


async def test_move_to_vanity_flips_upn_and_primary_address_keeping_routing_address() -> None:
    dns = Dns()
    async with world(config(dns=dns)) as w:
        await verified_vanity(w, dns)
        await w.tenant.create_mailboxes(REF, users(1))
        address = f"user00@{VANITY}"
        await w.tenant.move_to_vanity(REF, [address])
        await w.tenant.move_to_vanity(REF, [address])  # a retried activity: no-op
        user = next(iter(w.state.users.values()))
        assert user.user_principal_name == address
        mailbox = w.state.exchange.mailbox_of_user(user.id)
        assert mailbox is not None and mailbox.primary_smtp == address
        assert f"user00@{INITIAL}" in mailbox.addresses()


async def test_apply_step_creates_shared_mailbox_and_distribution_group_once() -> None:
    async with world(config(units=2)) as w:
        await w.tenant.create_mailboxes(REF, users(2))
        members = [f"user00@{INITIAL}", f"user01@{INITIAL}"]
        for _ in range(2):  # a retried step changes nothing the second time
            await w.tenant.apply_step(REF, "shared_mailbox_aliases",
                                      {"shared": [f"sales@{INITIAL}"]})
            await w.tenant.apply_step(REF, "distribution_groups",
                                      {"groups": [[f"team@{INITIAL}", members]]})
        shared = [m for m in w.state.exchange.mailboxes.values() if m.kind == "SharedMailbox"]
        assert [m.primary_smtp for m in shared] == [f"sales@{INITIAL}"]
        groups = list(w.state.exchange.groups.values())
        assert [(g.primary_smtp, g.group_type) for g in groups] == [
            (f"team@{INITIAL}", "Distribution")]
        owners = {m.guid: m.primary_smtp for m in w.state.exchange.mailboxes.values()}
        assert sorted(owners[g] for g in groups[0].members) == members


async def test_steps_the_adapter_cannot_do_raise_step_unsupported_naming_them() -> None:
    async with world() as w:
        with pytest.raises(TenantStepUnsupported, match="'import_calendars'"):
            await w.tenant.apply_step(REF, "import_calendars", {})
        with pytest.raises(TenantStepUnsupported, match="public folders"):
            await w.tenant.apply_step(REF, "folders_and_permissions",
                                      {"public_folders": ["Sales"], "permissions": []})


async def test_non_conformant_request_is_refused_before_it_is_sent() -> None:
    async with world() as w:
        with pytest.raises(GraphNonConformant):
            await w.tenant.graph.call(REF, "POST", "/users/x/notAnAction", {})
        assert w.transport.sent == []


async def test_remove_service_identity_leaves_no_app_principal_or_role_assignment() -> None:
    async with world(config(units=1)) as w:
        await w.tenant.setup(REF, [])
        await w.tenant.create_mailboxes(REF, users(1))
        assert w.state.exchange.permissions  # FullAccess for MigrationApp
        await w.tenant.remove_service_identity(REF)
        assert all(a.display_name != "MigrationApp" for a in w.state.applications.values())
        assert w.state.deleted == {}
        assert all(s.display_name != "MigrationApp"
                   for s in w.state.service_principals.values())
        assert w.state.grants == {}
        assert w.state.exchange.service_principals == {}
        assert w.state.exchange.role_assignments == {}
        assert w.state.exchange.permissions == []
        await w.tenant.remove_service_identity(REF)  # nothing left: a retry is a no-op


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"the simulator did not listen on {port}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The simulator served over TLS on a free port (msal signs in over https only): its
    base URL and the certificate to trust."""
    tls = tmp_path_factory.mktemp("tls")
    cert, key = tls / "cert.pem", tls / "key.pem"
    write_self_signed(cert, key, "127.0.0.1")
    port = _free_port()
    # daemon: `serve` runs until the process ends (it has no stop handle to call)
    threading.Thread(target=serve, args=(config(), "127.0.0.1", port),
                     kwargs={"ssl_certfile": str(cert), "ssl_keyfile": str(key)},
                     daemon=True).start()
    _wait_for_port(port)
    return f"https://127.0.0.1:{port}", cert


@pytest.fixture
def ca_bundle_set_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # the system's bundle in the variables that requests lets override a session's own
    # CA bundle: msal must still trust the simulator's CA file
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, "/etc/ssl/certs/ca-certificates.crt")


async def test_msal_token_source_signs_in_at_the_served_simulator_and_refuses_bad_secret(
        served: tuple[str, Path], ca_bundle_set_in_env: None) -> None:
    login, cert = served
    good = MsalTokenSource(credentials(), login, verify=str(cert))
    token = await good.token(REF, GRAPH_SCOPE)
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=cert)) as http:
        reply = await http.get(f"{login}/v1.0/organization",
                               headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    assert reply.json()["value"][0]["id"] == TENANT_ID
    assert await good.token(REF, GRAPH_SCOPE) == token  # msal's cache
    assert await good.token(REF, GRAPH_SCOPE, fresh=True) != token  # issued anew
    bad = MsalTokenSource(credentials("wrong"), login, verify=str(cert))
    with pytest.raises(CredentialsInvalid, match="7000215"):
        await bad.token(REF, GRAPH_SCOPE)


async def test_mailflip_tenant_graph_composes_graph_tenant_with_the_orders_vault_credentials(
        served: tuple[str, Path], ca_bundle_set_in_env: None, tmp_path: Path) -> None:
    from mailflip.compose import compose
    from mailflip.config import Settings
    from mailflip.simulate.live import load_world
    from mailflip.stack.demo import DEMO_WORLD, find_example

    login, cert = served
    settings = Settings(database_url=f"sqlite:///{tmp_path}/mailflip.db", tenant="graph",
                        m365_login_url=login, m365_graph_url=login, m365_exo_url=login,
                        m365_ca_file=cert)
    c = compose(settings, load_world(find_example(DEMO_WORLD)))
    try:
        assert isinstance(c.adapters.tenant, GraphTenant)
        assert c.served_by["tenant"] == f"Microsoft Graph {login}"
        with pytest.raises(CredentialsInvalid, match="no 'tenant' credentials"):
            await c.adapters.tenant.setup(REF, [])
        c.store.save_credentials(REF.order_id, "tenant", {
            "tenant_id": INITIAL, "client_id": CLIENT_ID, "client_secret": SECRET})
        result = await c.adapters.tenant.setup(REF, [VANITY])
        assert result.verified_domains == [] and result.licenses_available  # added, unverified
        app = c.store.load_credentials(REF.order_id, "migration_app")  # kept, encrypted
        assert app["client_id"] and app["client_secret"]
    finally:
        await c.adapters.tenant.aclose()
        c.close()


class TxtZone:
    """An authoritative DNS server's answers (dnslib): TXT records per name, NXDOMAIN
    for anything else."""

    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}

    def resolve(self, request: Any, handler: Any) -> Any:
        from dnslib import QTYPE, RCODE, RR, TXT

        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if request.q.qtype == QTYPE.TXT and name in self.txt:
            for value in self.txt[name]:
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(value), ttl=60))
        else:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


async def test_domain_verification_looks_the_txt_record_up_at_a_real_dns_server() -> None:
    from dnslib.server import DNSServer

    from mailflip.tenant.simulator.local import dns_resolver

    zone, port = TxtZone(), _free_port()
    server = DNSServer(zone, port=port, address="127.0.0.1", tcp=False)
    server.start_thread()
    try:
        cfg = replace(config(), resolver=dns_resolver(f"127.0.0.1:{port}"))
        async with world(cfg) as w:
            await w.tenant.setup(REF, [VANITY])
            txt = await w.tenant.domain_txt(REF, VANITY)
            assert await w.tenant.verify_domain(REF, VANITY) is False  # NXDOMAIN
            zone.txt[VANITY] = ["v=spf1 -all"]  # another TXT record: not the one asked for
            assert await w.tenant.verify_domain(REF, VANITY) is False
            zone.txt[VANITY].append(txt[0])  # the partner publishes it
            assert await w.tenant.verify_domain(REF, VANITY) is True
    finally:
        server.stop()


async def test_a_shared_mailbox_on_a_domain_exchange_does_not_accept_yet_is_retried() -> None:
    """M365.md §9.3: a domain verified (Email on) moments ago is not yet an accepted
    domain of Exchange Online; New-Mailbox refuses its addresses until it is. That is
    "come back later", not a mailbox that failed (which would count for R-MBX-25)."""
    dns, clock = Dns(), ManualClock()
    async with world(replace(config(knobs(accepted_domain_delay_s=60), dns=dns),
                             clock=clock)) as w:
        await verified_vanity(w, dns)
        info = MailboxToCreate(f"info@{VANITY}", "Info", kind="shared")
        with pytest.raises(TenantNotReady) as later:
            await w.tenant.create_mailboxes(REF, [info])
        assert "is not an accepted domain" in str(later.value)
        clock.advance(60)
        assert await w.tenant.create_mailboxes(REF, [info]) == {info.address: None}
        shared = [m.primary_smtp for m in w.state.exchange.mailboxes.values()]
        assert shared == [f"info@{VANITY}"]
