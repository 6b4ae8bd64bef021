"""Tenant contract: the simulated world, GraphTenant over the local Microsoft 365 (in
process), and GraphTenant over a live tenant (when MAILFLIP_LIVE_TENANT is set, see the
README's "Live tenant") behave the same behind the order's tenant activities."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import ActivityEnvironment
from tests.adapters.m365_world import BASE, CLIENT_ID, INITIAL, SECRET, Dns, config

from mailflip.lifecycle.order.activities import OrderActivities
from mailflip.lifecycle.order.messages import (
    CreateMailboxesInput,
    CtpInput,
    DomainInput,
    MxInput,
    SetupInput,
    StepInput,
)
from mailflip.simulate.world import SimulatedWorld, WorldConfig
from mailflip.store.memory import MemoryMirror
from mailflip.tenant.auth import EXCHANGE_SCOPE, FormTokenSource, MsalTokenSource, TenantCredentials
from mailflip.tenant.graph import GraphTenant
from mailflip.tenant.graph_mailboxes import user_by_upn
from mailflip.tenant.port import MailboxToCreate, TenantRef

VANITY = "fabrikam.com"
REF = TenantRef("o1", INITIAL)
USERS = [f"{n}@{VANITY}" for n in ("ann", "bob", "cem")]
SKU = "O365_BUSINESS_PREMIUM"
LIVE_ENV = ("MAILFLIP_M365_TENANT_ID", "MAILFLIP_M365_CLIENT_ID", "MAILFLIP_M365_CLIENT_SECRET")


@dataclass
class Impl:
    acts: OrderActivities
    bad: OrderActivities  # the same tenant, with credentials it refuses
    ref: TenantRef
    vanity: str  # a domain the tenant does not have verified
    users: list[str]  # mailboxes to create
    refused: list[str]  # those the tenant refuses, each in its own way
    licences: int | None  # free units of SKU at setup; None: whatever a live tenant has
    # the partner publishes the TXT record; None: nobody can here (a live tenant)
    publish: Callable[[str, list[str]], Awaitable[None]] | None
    groups: bool = True  # the distribution-group step (live: no allowed cmdlet removes one)
    # how IMAP answers MigrationApp for a mailbox (imap_answer); None: no IMAP endpoint
    imap: Callable[[str], Awaitable[str]] | None = None


@asynccontextmanager
async def simulated() -> AsyncIterator[Impl]:
    # (the world fails the third mailbox by configuration, the local Microsoft 365 by
    #  running out of licences: each tenant's own way of refusing one mailbox)
    world = SimulatedWorld(WorldConfig(licenses={SKU: 2}, mailbox_create_fails=[USERS[2]]),
                           timedelta(0))
    refusing = SimulatedWorld(WorldConfig(credentials_valid=False), timedelta(0))

    async def publish(domain: str, txt: list[str]) -> None:
        world.cfg.verified_domains.append(domain)  # the world sees the record at once

    yield Impl(activities(world), activities(refusing), REF, VANITY, USERS, [USERS[2]], 2,
               publish)


@asynccontextmanager
async def graph() -> AsyncIterator[Impl]:
    from mailflip.tenant.simulator import create_app

    dns = Dns()
    app = create_app(config(units=2, dns=dns))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        def tenant(secret: str) -> GraphTenant:
            async def creds(t: TenantRef) -> TenantCredentials:
                return TenantCredentials(t.initial_domain, CLIENT_ID, secret)

            async def no_wait(seconds: float) -> None:
                return None

            return GraphTenant(creds, login_url=BASE, graph_url=BASE, exo_url=BASE,
                               http=http, tokens=FormTokenSource(creds, http, BASE),
                               sleep=no_wait)

        async def publish(domain: str, txt: list[str]) -> None:
            dns.txt[domain] = txt

        yield Impl(activities(tenant(SECRET)), activities(tenant("wrong")), REF, VANITY,
                   USERS, [USERS[2]], 2, publish)


@asynccontextmanager
async def live() -> AsyncIterator[Impl]:
    """A real tenant (or `mailflip sim m365` over https) from the environment: three
    users `mf-<run>-*` on its initial domain and an unverified vanity domain, all removed
    again at the end, as is MigrationApp by the contract itself."""
    from mailflip.compose import graph_tenant_with
    from mailflip.config import Settings

    initial = os.environ.get("MAILFLIP_LIVE_TENANT", "")
    if not initial:
        pytest.skip("no live tenant: set MAILFLIP_LIVE_TENANT and its credentials "
                    "(README, Live tenant)")
    missing = [name for name in LIVE_ENV if not os.environ.get(name)]
    if missing:
        pytest.fail(f"MAILFLIP_LIVE_TENANT is set, but not {', '.join(missing)}")
    run = secrets.token_hex(4)
    vanity = os.environ.get("MAILFLIP_LIVE_VANITY") or f"mailflip-{run}.com"
    ref = TenantRef(f"contract-{run}", initial)
    settings = Settings()
    apps: dict[str, str] = {}

    async def keep(t: TenantRef, app_id: str, secret: str) -> None:
        apps["MigrationApp"] = app_id
        apps[app_id] = secret

    def tenant(secret: str) -> GraphTenant:
        async def creds(t: TenantRef) -> TenantCredentials:
            return TenantCredentials(os.environ[LIVE_ENV[0]], os.environ[LIVE_ENV[1]], secret)

        return graph_tenant_with(settings, creds, keep)[0]

    good, bad = tenant(os.environ[LIVE_ENV[2]]), tenant("not-the-secret")
    users = [f"mf-{run}-{n}@{initial}" for n in ("ann", "bob", "cem")]
    had_vanity = (await good.graph.call(ref, "GET", f"/domains/{vanity}")).status == 200
    tokens: dict[str, str] = {}

    async def imap(mailbox: str) -> str:
        """MigrationApp's answer at the IMAP endpoint: one token per run (taken while
        the app exists, so that its removal is what the endpoint must notice)."""
        if "token" not in tokens:
            app_id = apps["MigrationApp"]

            async def creds(t: TenantRef) -> TenantCredentials:
                return TenantCredentials(os.environ[LIVE_ENV[0]], app_id, apps[app_id])

            ca = str(settings.m365_ca_file) if settings.m365_ca_file else True
            tokens["token"] = await MsalTokenSource(creds, settings.m365_login_url,
                                                    verify=ca).token(ref, EXCHANGE_SCOPE)
        return await asyncio.to_thread(imap_answer, settings.m365_imap_url,
                                       settings.m365_ca_file, mailbox, tokens["token"])

    try:
        yield Impl(activities(good), activities(bad), ref, vanity, users, [], None, None,
                   groups=False, imap=imap if settings.m365_imap_url else None)
    finally:
        await remove_live(good, ref, users, None if had_vanity else vanity)
        await good.aclose()
        await bad.aclose()


async def remove_live(tenant: GraphTenant, ref: TenantRef, users: list[str],
                      vanity: str | None) -> None:
    """What the live contract made: its users (and from deleted items), the domain."""
    for upn in users:
        user = await user_by_upn(tenant.graph, ref, upn)
        if user is not None:
            await tenant.graph.call(ref, "DELETE", f"/users/{user['id']}")
            await tenant.graph.call(ref, "DELETE", f"/directory/deletedItems/{user['id']}")
    if vanity is not None:
        await tenant.graph.call(ref, "DELETE", f"/domains/{vanity}")


def imap_answer(url: str, ca_file: Any, mailbox: str, token: str) -> str:
    """"connected" (LIST works), "not connected" (logged in, every command refused:
    Exchange's "User is authenticated but not connected.") or "refused" (AUTHENTICATE
    failed) for an XOAUTH2 login to `mailbox`."""
    import ssl
    from urllib.parse import urlsplit

    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError, LoginError

    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    imap = IMAPClient(parts.hostname or "", parts.port or 993, ssl=parts.scheme == "imaps",
                      ssl_context=context, timeout=30)
    try:
        try:
            imap.oauth2_login(mailbox, token)
        except LoginError:
            return "refused"
        try:
            imap.list_folders()
        except IMAPClientError as exc:
            assert "not connected" in str(exc), exc
            return "not connected"
        return "connected"
    finally:
        imap.shutdown()


async def imap_until(impl: Impl, mailbox: str, wanted: set[str]) -> str:
    """The endpoint's answer, asked again while a live tenant's permissions propagate
    (minutes in Exchange Online; at once in the local Microsoft 365)."""
    assert impl.imap is not None
    deadline = time.monotonic() + float(os.environ.get("MAILFLIP_LIVE_WAIT_S", "1800"))
    while (answer := await impl.imap(mailbox)) not in wanted and time.monotonic() < deadline:
        await asyncio.sleep(30)  # Exchange's permission cache: nothing to poll but this
    return answer


def activities(tenant: Any) -> OrderActivities:
    # the mirror: Delete SKImpersonator Accounts purges the tenant credentials after it
    return OrderActivities(tenant, dns=None, agents=None, notifier=None,  # type: ignore[arg-type]
                           mirror=MemoryMirror())


async def run_until_ready(env: ActivityEnvironment, fn: Any, arg: Any) -> Any:
    """Run an activity as its retry policy would while the tenant says "come back later"
    (a live tenant provisioning a mailbox takes minutes); the simulators never do here."""
    deadline = time.monotonic() + float(os.environ.get("MAILFLIP_LIVE_WAIT_S", "1800"))
    while True:
        try:
            return await env.run(fn, arg)
        except ApplicationError as exc:
            if exc.type != "TenantNotReady" or time.monotonic() > deadline:
                raise
            delay = exc.next_retry_delay or timedelta(seconds=30)
            await asyncio.sleep(delay.total_seconds())  # the service's own Retry-After


@pytest.mark.parametrize("make", [simulated, graph, live],
                         ids=["simulated", "graph", "live"])
async def test_tenant_contract(make: Callable[[], Any]) -> None:
    env = ActivityEnvironment()
    async with make() as impl:
        ref, vanity = impl.ref, impl.vanity
        setup_in = SetupInput("Setup Office 365 Account", ref, [vanity])
        with pytest.raises(ApplicationError) as refused:
            await env.run(impl.bad.setup_tenant, setup_in)
        assert refused.value.type == "CredentialsInvalid" and refused.value.non_retryable

        setup = await run_until_ready(env, impl.acts.setup_tenant, setup_in)
        assert setup.verified_domains == []
        if impl.licences is not None:
            assert setup.licenses_available[SKU] == impl.licences
        elif sum(setup.licenses_available.values()) < len(impl.users):
            pytest.skip(f"the live tenant has fewer than {len(impl.users)} free licences")
        again = await run_until_ready(env, impl.acts.setup_tenant, setup_in)  # a retried CTP
        assert again == setup if impl.licences is not None else \
            again.verified_domains == setup.verified_domains

        txt = (await env.run(impl.acts.get_domain_txt,
                             MxInput("Initiating Vanity", ref, [vanity]))).records[vanity]
        assert len(txt) == 1 and txt[0].startswith("MS=ms")
        with pytest.raises(ApplicationError) as not_yet:
            await env.run(impl.acts.verify_domain, DomainInput("Verifying Vanity", ref,
                                                               vanity, 60))
        assert not_yet.value.type == "NotYetDone" and not not_yet.value.non_retryable
        assert not_yet.value.category is ApplicationErrorCategory.BENIGN
        if impl.publish is not None:
            await impl.publish(vanity, txt)
            await env.run(impl.acts.verify_domain, DomainInput("Verifying Vanity", ref,
                                                               vanity, 60))

        items = [MailboxToCreate(a, a.split("@")[0].title()) for a in impl.users]
        create_in = CreateMailboxesInput("Create Mailboxes", ref, items)
        made = await run_until_ready(env, impl.acts.create_mailboxes, create_in)
        assert sorted(made.failures) == impl.refused
        assert all(made.failures.values())  # each refusal says why
        retried = await run_until_ready(env, impl.acts.create_mailboxes, create_in)
        assert sorted(retried.failures) == impl.refused  # the refused ones only fail again
        if impl.imap is not None:  # MigrationApp opens a created mailbox over IMAP
            assert await imap_until(impl, impl.users[0], {"connected"}) == "connected"

        if impl.groups:
            await env.run(impl.acts.apply_tenant_step, StepInput(
                "Distribution Groups", ref, "distribution_groups",
                {"groups": [[f"team@{vanity}", impl.users[:2]]]}))
        removal = CtpInput("Delete SKImpersonator Accounts", ref)
        await run_until_ready(env, impl.acts.remove_service_identity, removal)
        await run_until_ready(env, impl.acts.remove_service_identity, removal)  # nothing left
        if impl.imap is not None:  # ... and no longer once its access is removed
            assert await imap_until(impl, impl.users[0],
                                    {"refused", "not connected"}) != "connected"
