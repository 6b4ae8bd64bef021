"""The tenant pre-flight (`mailflip tenant check`) against the local Microsoft 365 in
process, and its IMAP probe against a real listening socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from mailflip.domain.model import OrderSpec, Poc, UserSpec
from mailflip.tenant.auth import FormTokenSource, TenantCredentials
from mailflip.tenant.exo import InvokeCommandRunner
from mailflip.tenant.http import GraphClient
from mailflip.tenant.port import TenantRef
from mailflip.tenant.preflight import Probe, Report, Verdict, run_preflight
from mailflip.tenant.simulator import SimulatorConfig, TenantConfig, create_app
from tests.adapters.m365_world import ALL_GRAPH, BASE, CLIENT_ID, INITIAL, SECRET, Dns, config

OTHER = TenantConfig("9e9e9e9e-0000-4000-8000-000000000001", "fabrikam.onmicrosoft.com")


def order(*domains: str, users: int = 2, sku: str = "O365_BUSINESS_PREMIUM") -> OrderSpec:
    first = domains[0] if domains else "contoso.com"
    return OrderSpec("acme-msp", "Contoso", Poc("Pat", f"pat@{first}"),
                     datetime(2027, 1, 1, tzinfo=UTC), INITIAL, vanity_domains=list(domains),
                     users=[UserSpec(f"User {i}", f"u{i}@old.example", f"u{i}@{first}", sku)
                            for i in range(users)])


@asynccontextmanager
async def probe(cfg: SimulatorConfig | None = None, secret: str = SECRET,
                imap_url: str = "") -> AsyncIterator[tuple[Probe, dict[str, object]]]:
    app = create_app(cfg or config())

    async def creds(_: TenantRef) -> TenantCredentials:
        return TenantCredentials(INITIAL, CLIENT_ID, secret)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as http:
        tokens = FormTokenSource(creds, http, BASE)
        yield (Probe(GraphClient(http, tokens, BASE), InvokeCommandRunner(http, tokens, BASE),
                     tokens, http, BASE, CLIENT_ID, imap_url), app.state.tenants)


def verdicts(report: Report) -> dict[str, Verdict]:
    return {c.name: c.verdict for c in report.checks}


def detail(report: Report, name: str) -> str:
    return next(c.detail for c in report.checks if c.name == name)


async def test_preflight_of_a_ready_tenant_is_go_and_changes_nothing() -> None:
    async with probe() as (p, tenants):
        before = repr(next(iter(tenants.values())))
        report = await run_preflight(p, INITIAL, order(users=2))
        assert report.go, report.as_json()
        assert verdicts(report) == {
            "sign-in": Verdict.GO, "Graph permissions": Verdict.GO,
            "Exchange Online permission": Verdict.GO,
            "licences O365_BUSINESS_PREMIUM": Verdict.GO, "Exchange Online": Verdict.GO,
            "IMAP": Verdict.WARN}
        assert detail(report, "licences O365_BUSINESS_PREMIUM") == "2 needed, 2 free of 2"
        assert INITIAL in detail(report, "Exchange Online")
        assert repr(next(iter(tenants.values()))) == before


async def test_preflight_names_missing_permissions_and_the_admin_consent_url() -> None:
    granted = tuple(p for p in ALL_GRAPH if p != "Application.ReadWrite.All")
    async with probe(config(graph=granted)) as (p, _):
        report = await run_preflight(p, INITIAL)
    assert not report.go
    text = detail(report, "Graph permissions")
    assert "missing Application.ReadWrite.All" in text
    assert f"{BASE}/{INITIAL}/adminconsent?client_id={CLIENT_ID}" in text


async def test_preflight_with_a_bad_secret_stops_at_sign_in_without_the_secret() -> None:
    async with probe(secret="not-the-secret") as (p, _):
        report = await run_preflight(p, INITIAL, order("fabrikam.com"))
    assert [c.name for c in report.checks] == ["sign-in"]
    assert not report.go
    assert "7000215" in report.checks[0].detail
    assert "not-the-secret" not in repr(report.as_json())


async def test_preflight_reports_each_domain_and_adds_only_when_asked() -> None:
    dns = Dns()
    async with probe(config(dns=dns)) as (p, tenants):
        state = next(iter(tenants.values()))
        report = await run_preflight(p, INITIAL, order("fabrikam.com"))
        assert verdicts(report)["domain fabrikam.com"] is Verdict.WARN
        assert "not in the tenant yet" in detail(report, "domain fabrikam.com")
        assert "fabrikam.com" not in state.domains  # read only

        report = await run_preflight(p, INITIAL, order("fabrikam.com"), add_domains=True)
        code = state.verification_code("fabrikam.com")
        assert f'publish TXT "{code}" at fabrikam.com' in detail(report, "domain fabrikam.com")
        assert report.go  # an unverified domain is work to do, not a blocker

        dns.txt["fabrikam.com"] = [code]
        assert (await p.graph.call(TenantRef("t", INITIAL), "POST",
                                   "/domains/fabrikam.com/verify")).status == 200
        report = await run_preflight(p, INITIAL, order("fabrikam.com"))
        assert verdicts(report)["domain fabrikam.com"] is Verdict.GO


async def test_preflight_is_no_go_for_a_domain_verified_by_another_tenant() -> None:
    base = config()
    other = replace(OTHER, apps=base.tenants[0].apps)
    async with probe(replace(base, tenants=(*base.tenants, other))) as (p, tenants):
        theirs = tenants[OTHER.tenant_id]
        theirs.domains["shared.com"] = replace(theirs.domains["fabrikam.onmicrosoft.com"],
                                               id="shared.com", is_initial=False)
        report = await run_preflight(p, INITIAL, order("shared.com"))
    assert not report.go
    assert f"verified in another tenant ({OTHER.tenant_id})" in detail(report,
                                                                        "domain shared.com")


async def test_preflight_is_no_go_when_the_order_needs_more_licences_than_are_free() -> None:
    async with probe(config(units=2)) as (p, _):
        report = await run_preflight(p, INITIAL, order(users=3))
        missing_sku = await run_preflight(p, INITIAL, order(users=1, sku="SPE_E3"))
    assert verdicts(report)["licences O365_BUSINESS_PREMIUM"] is Verdict.NO_GO
    assert detail(report, "licences O365_BUSINESS_PREMIUM") == "3 needed, 2 free of 2"
    assert "no such subscription" in detail(missing_sku, "licences SPE_E3")
    assert not missing_sku.go


async def _greeter(capabilities: bytes) -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK The Microsoft Exchange IMAP4 service is ready.\r\n")
        tag = (await reader.readline()).split(b" ")[0]
        writer.write(b"* CAPABILITY " + capabilities + b"\r\n" + tag + b" OK done\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_preflight_imap_probe_wants_xoauth2_and_names_an_unreachable_host() -> None:
    server, port = await _greeter(b"IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR")
    async with server:
        async with probe(imap_url=f"imap://127.0.0.1:{port}") as (p, _):
            ok = await run_preflight(p, INITIAL)
    assert verdicts(ok)["IMAP"] is Verdict.GO
    plain, plain_port = await _greeter(b"IMAP4rev1 AUTH=PLAIN")
    async with plain:
        async with probe(imap_url=f"imap://127.0.0.1:{plain_port}") as (p, _):
            no_oauth = await run_preflight(p, INITIAL)
    assert verdicts(no_oauth)["IMAP"] is Verdict.NO_GO
    assert "does not offer AUTH=XOAUTH2" in detail(no_oauth, "IMAP")
    closed = port  # the server is closed now: nothing listens there
    async with probe(imap_url=f"imap://127.0.0.1:{closed}") as (p, _):
        down = await run_preflight(p, INITIAL)
    assert verdicts(down)["IMAP"] is Verdict.NO_GO
    assert f"127.0.0.1:{closed} unreachable" in detail(down, "IMAP")
