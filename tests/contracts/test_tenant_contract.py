"""Tenant contract: the simulated world and GraphTenant (over the local Microsoft 365's
Graph and Exchange Online) behave the same behind the order's tenant activities."""

from __future__ import annotations

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
from mailflip.tenant.auth import FormTokenSource, TenantCredentials
from mailflip.tenant.graph import GraphTenant
from mailflip.tenant.port import MailboxToCreate, TenantRef

VANITY = "fabrikam.com"
REF = TenantRef("o1", INITIAL)
USERS = [f"{n}@{VANITY}" for n in ("ann", "bob", "cem")]
SKU = "O365_BUSINESS_PREMIUM"


@dataclass
class Impl:
    acts: OrderActivities
    bad: OrderActivities  # the same tenant, with credentials it refuses
    publish: Callable[[str, list[str]], Awaitable[None]]  # the partner publishes the TXT


@asynccontextmanager
async def simulated() -> AsyncIterator[Impl]:
    # (the world fails the third mailbox by configuration, the local Microsoft 365 by
    #  running out of licences: each tenant's own way of refusing one mailbox)
    world = SimulatedWorld(WorldConfig(licenses={SKU: 2}, mailbox_create_fails=[USERS[2]]),
                           timedelta(0))
    refusing = SimulatedWorld(WorldConfig(credentials_valid=False), timedelta(0))

    async def publish(domain: str, txt: list[str]) -> None:
        world.cfg.verified_domains.append(domain)  # the world sees the record at once

    yield Impl(activities(world), activities(refusing), publish)


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

        yield Impl(activities(tenant(SECRET)), activities(tenant("wrong")), publish)


def activities(tenant: Any) -> OrderActivities:
    return OrderActivities(tenant, dns=None, agents=None, notifier=None, mirror=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [simulated, graph], ids=["simulated", "graph"])
async def test_tenant_contract(make: Callable[[], Any]) -> None:
    env = ActivityEnvironment()
    async with make() as impl:
        with pytest.raises(ApplicationError) as refused:
            await env.run(impl.bad.setup_tenant, SetupInput("Setup Office 365 Account", REF,
                                                            [VANITY]))
        assert refused.value.type == "CredentialsInvalid" and refused.value.non_retryable

        setup = await env.run(impl.acts.setup_tenant,
                              SetupInput("Setup Office 365 Account", REF, [VANITY]))
        assert setup.verified_domains == [] and setup.licenses_available[SKU] == 2
        again = await env.run(impl.acts.setup_tenant,  # idempotent: a retried CTP
                              SetupInput("Setup Office 365 Account", REF, [VANITY]))
        assert again == setup

        txt = (await env.run(impl.acts.get_domain_txt,
                             MxInput("Initiating Vanity", REF, [VANITY]))).records[VANITY]
        assert len(txt) == 1 and txt[0].startswith("MS=ms")
        with pytest.raises(ApplicationError) as not_yet:
            await env.run(impl.acts.verify_domain, DomainInput("Verifying Vanity", REF,
                                                               VANITY, 60))
        assert not_yet.value.type == "NotYetDone" and not not_yet.value.non_retryable
        assert not_yet.value.category is ApplicationErrorCategory.BENIGN
        await impl.publish(VANITY, txt)
        await env.run(impl.acts.verify_domain, DomainInput("Verifying Vanity", REF, VANITY, 60))

        items = [MailboxToCreate(a, a.split("@")[0].title()) for a in USERS]
        made = await env.run(impl.acts.create_mailboxes,
                             CreateMailboxesInput("Create Mailboxes", REF, items))
        assert list(made.failures) == [USERS[2]] and made.failures[USERS[2]]
        retried = await env.run(impl.acts.create_mailboxes,  # the failed one only fails again
                                CreateMailboxesInput("Create Mailboxes", REF, items))
        assert list(retried.failures) == [USERS[2]]

        await env.run(impl.acts.apply_tenant_step, StepInput(
            "Distribution Groups", REF, "distribution_groups",
            {"groups": [[f"team@{VANITY}", USERS[:2]]]}))
        await env.run(impl.acts.remove_service_identity,
                      CtpInput("Delete SKImpersonator Accounts", REF))
        await env.run(impl.acts.remove_service_identity,  # again: nothing left, no error
                      CtpInput("Delete SKImpersonator Accounts", REF))
