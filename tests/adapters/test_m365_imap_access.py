"""Exchange Online's IMAP login decision in the local Microsoft 365, over what the real
adapter made: MigrationApp (Setup Office 365 Account) and FullAccess on each mailbox
(Create Mailboxes). IMAP.AccessAsApp + FullAccess + a provisioned mailbox connect;
anything less gets Exchange's answers."""

from __future__ import annotations

import base64
from dataclasses import replace

import httpx

from mailflip.tenant.auth import EXCHANGE_SCOPE, FormTokenSource
from mailflip.tenant.graph import GraphTenant
from mailflip.tenant.port import MailboxToCreate, TenantRef
from mailflip.tenant.simulator import ManualClock, create_app
from mailflip.tenant.simulator.imap_access import (
    CONNECTIONS_PER_MAILBOX,
    Verdict,
    decide,
    parse_xoauth2,
)
from tests.adapters.m365_world import BASE, INITIAL, SECRET, TENANT_ID, config, knobs
from tests.adapters.test_graph_tenant import credentials

REF = TenantRef("order-1", INITIAL)
ANN = f"ann@{INITIAL}"


def xoauth2(user: str, token: str) -> str:
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


async def prepared():  # noqa: ANN201 - (app, clock, token)
    clock = ManualClock()
    app = create_app(replace(config(knobs()), clock=clock))
    secrets: dict[str, str] = {}

    async def keep(t: TenantRef, app_id: str, secret: str) -> None:
        secrets[app_id] = secret

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE) as http:
        creds = credentials(SECRET)
        tenant = GraphTenant(creds, login_url=BASE, graph_url=BASE, exo_url=BASE, http=http,
                             tokens=FormTokenSource(creds, http, BASE), on_app_secret=keep,
                             sleep=clock_sleep(clock))
        await tenant.setup(REF, [])
        await tenant.create_mailboxes(REF, [MailboxToCreate("ann@contoso.example", "Ann",
                                                            on_initial_domain=True)])
        [(app_id, secret)] = secrets.items()
        reply = await http.post(f"/{INITIAL}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": app_id,
            "client_secret": secret, "scope": EXCHANGE_SCOPE})
        assert reply.status_code == 200, reply.text
    return app, clock, reply.json()["access_token"]


def clock_sleep(clock: ManualClock):  # noqa: ANN201
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
    return sleep


async def test_migration_app_with_full_access_connects_to_a_provisioned_mailbox() -> None:
    app, clock, token = await prepared()
    access = decide(app.state.tokens, xoauth2(ANN, token), clock.now, {})
    assert access.verdict is Verdict.CONNECTED and access.mailbox == ANN


async def test_without_full_access_exchange_says_authenticated_but_not_connected() -> None:
    app, clock, token = await prepared()
    app.state.tenants[TENANT_ID].exchange.permissions.clear()  # Remove-MailboxPermission
    access = decide(app.state.tokens, xoauth2(ANN, token), clock.now, {})
    assert access.verdict is Verdict.NOT_CONNECTED
    assert access.verdict.value == "User is authenticated but not connected."


async def test_a_mailbox_still_provisioning_or_unknown_fails_authenticate() -> None:
    app, clock, token = await prepared()
    for mailbox in app.state.tenants[TENANT_ID].exchange.mailboxes.values():
        mailbox.ready_at = clock.now + 300  # licensed a moment ago: provisioning
    assert decide(app.state.tokens, xoauth2(ANN, token), clock.now,
                  {}).verdict is Verdict.AUTH_FAILED
    clock.advance(300)
    assert decide(app.state.tokens, xoauth2(ANN, token), clock.now,
                  {}).verdict is Verdict.CONNECTED
    assert decide(app.state.tokens, xoauth2(f"nobody@{INITIAL}", token), clock.now,
                  {}).verdict is Verdict.AUTH_FAILED


async def test_a_bad_or_graph_token_fails_and_the_connection_cap_refuses() -> None:
    app, clock, token = await prepared()
    tokens = app.state.tokens
    assert decide(tokens, xoauth2(ANN, token + "x"), clock.now, {}).verdict is Verdict.AUTH_FAILED
    assert decide(tokens, "not base64!", clock.now, {}).verdict is Verdict.AUTH_FAILED
    clock.advance(4000)  # past the token's lifetime
    assert decide(tokens, xoauth2(ANN, token), clock.now, {}).verdict is Verdict.AUTH_FAILED
    app, clock, token = await prepared()
    guid = decide(app.state.tokens, xoauth2(ANN, token), clock.now, {}).guid
    full = {guid: CONNECTIONS_PER_MAILBOX}
    assert decide(app.state.tokens, xoauth2(ANN, token), clock.now,
                  full).verdict is Verdict.TOO_MANY


def test_parse_xoauth2_names_what_is_missing() -> None:
    assert parse_xoauth2(xoauth2(ANN, "tok")) == (ANN, "tok")
    for payload, missing in ((base64.b64encode(b"auth=Bearer t\x01\x01").decode(), "user="),
                             (base64.b64encode(b"user=a@b\x01\x01").decode(), "auth=Bearer")):
        try:
            parse_xoauth2(payload)
        except ValueError as exc:
            assert missing in str(exc)
        else:
            raise AssertionError("accepted an incomplete XOAUTH2 response")
