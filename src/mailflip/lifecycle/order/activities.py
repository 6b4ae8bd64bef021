"""The order's activities: I/O only, through the ports given at construction.

Permanent conditions raise non-retryable ApplicationErrors whose type is the
business error's class name; waiting on the outside world raises a benign,
retryable error so that the retry policy is the poll loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from mailflip.agents.port import Agents
from mailflip.dns.port import Dns
from mailflip.domain.rules import mx_points_to_m365
from mailflip.errors import (
    CredentialsInvalid,
    NonConformant,
    NotYetDone,
    TenantApiError,
    TenantNotReady,
    TenantStepUnsupported,
)
from mailflip.notify.port import Notifier
from mailflip.store.port import Mirror
from mailflip.tenant.port import SetupResult, Tenant

from .messages import (
    AgentsInput,
    AgentsResult,
    AttemptResult,
    CreateMailboxesInput,
    CreateMailboxesResult,
    CtpInput,
    DomainInput,
    DomainTxtResult,
    MirrorInput,
    MxInput,
    MxResult,
    NotifyInput,
    SetupInput,
    StepInput,
)

# A tenant's refusals that no retry fixes: the CTP fails at once with their text (a
# non-conformant call is a bug in the adapter, and says which part).
TENANT_KIND = "tenant"  # the vault kind of the tenant app's credentials (compose.graph_tenant)
TENANT_PERMANENT = (CredentialsInvalid, TenantApiError, TenantStepUnsupported, NonConformant)


@contextmanager
def tenant_errors() -> Iterator[None]:
    """The tenant adapter's errors as Temporal retries them: permanent ones not at all;
    "come back later" (throttled, not replicated yet, still provisioning) after the delay
    the tenant gave, as a benign retry (the poll loop, not a failure)."""
    try:
        yield
    except TenantNotReady as exc:
        raise ApplicationError(str(exc), type=TenantNotReady.__name__,
                               next_retry_delay=timedelta(seconds=max(1.0, exc.retry_after_s)),
                               category=ApplicationErrorCategory.BENIGN) from exc
    except TENANT_PERMANENT as exc:
        raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc


def attempt_now() -> datetime:
    """Server time of this attempt (the time-skipping server's clock in tests)."""
    info = activity.info()
    return max(info.started_time, info.current_attempt_scheduled_time)


@dataclass
class OrderActivities:
    tenant: Tenant
    dns: Dns
    agents: Agents
    notifier: Notifier
    mirror: Mirror

    @activity.defn(name="setup_tenant")
    async def setup_tenant(self, inp: SetupInput) -> SetupResult:
        with tenant_errors():
            return await self.tenant.setup(inp.tenant, inp.vanity_domains)

    @activity.defn(name="create_mailboxes")
    async def create_mailboxes(self, inp: CreateMailboxesInput) -> CreateMailboxesResult:
        with tenant_errors():
            if inp.move_to_vanity:
                await self.tenant.move_to_vanity(inp.tenant, inp.move_to_vanity)
            results = await self.tenant.create_mailboxes(inp.tenant, inp.items)
        return CreateMailboxesResult(
            failures={a: e for a, e in results.items() if e is not None},
            attempts=activity.info().attempt,
        )

    @activity.defn(name="get_domain_txt")
    async def get_domain_txt(self, inp: MxInput) -> DomainTxtResult:
        with tenant_errors():
            records = {d: await self.tenant.domain_txt(inp.tenant, d) for d in inp.domains}
        await self.mirror.save_domain_txt(inp.tenant.order_id, records)  # for the portal
        return DomainTxtResult(records)

    @activity.defn(name="verify_domain")
    async def verify_domain(self, inp: DomainInput) -> AttemptResult:
        """One verification attempt; not verified yet -> benign retry (the poll loop)."""
        with tenant_errors():
            verified = await self.tenant.verify_domain(inp.tenant, inp.domain)
        if verified:
            return AttemptResult(attempts=activity.info().attempt)
        raise ApplicationError(
            f"{inp.domain} not verified yet", type=NotYetDone.__name__,
            next_retry_delay=timedelta(seconds=inp.poll_interval_s),
            category=ApplicationErrorCategory.BENIGN,
        )

    @activity.defn(name="apply_tenant_step")
    async def apply_tenant_step(self, inp: StepInput) -> AttemptResult:
        with tenant_errors():
            await self.tenant.apply_step(inp.tenant, inp.step, inp.payload)
        return AttemptResult(attempts=activity.info().attempt)

    @activity.defn(name="check_mx")
    async def check_mx(self, inp: MxInput) -> MxResult:
        hosts = {d: await self.dns.mx_hosts(d) for d in inp.domains}
        return MxResult(ok={d: mx_points_to_m365(d, h) for d, h in hosts.items()}, hosts=hosts,
                        attempts=activity.info().attempt)

    @activity.defn(name="check_agents_readiness")
    async def check_agents_readiness(self, inp: AgentsInput) -> AgentsResult:
        return AgentsResult(await self.agents.readiness(inp.tenant.order_id, inp.addresses))

    @activity.defn(name="flip_agents")
    async def flip_agents(self, inp: AgentsInput) -> AttemptResult:
        await self.agents.flip(inp.tenant.order_id, inp.addresses)
        return AttemptResult(attempts=activity.info().attempt)

    @activity.defn(name="remove_service_identity")
    async def remove_service_identity(self, inp: CtpInput) -> AttemptResult:
        """Delete SKImpersonator Accounts; then the tenant credentials it signed in with
        go too (Perform Migration Completed Steps, beside it, keeps them until then)."""
        with tenant_errors():
            await self.tenant.remove_service_identity(inp.tenant)
        await self.mirror.purge_credentials(inp.tenant.order_id)
        return AttemptResult(attempts=activity.info().attempt)

    @activity.defn(name="finish_order")
    async def finish_order(self, inp: CtpInput) -> AttemptResult:
        """Perform Migration Completed Steps: purge credentials (the tenant's own once the
        access removal that needs them is done: remove_service_identity), stop agents."""
        await self.mirror.purge_credentials(inp.tenant.order_id, keep=(TENANT_KIND,))
        await self.agents.stop(inp.tenant.order_id)
        return AttemptResult(attempts=activity.info().attempt)

    @activity.defn(name="send_notifications")
    async def send_notifications(self, inp: NotifyInput) -> None:
        """Each key goes out once: the notifier's outbox makes a retry send nothing twice."""
        for item in inp.items:
            await self.notifier.send(inp.order_id, item.key, item.template, item.to,
                                     item.context)
            activity.heartbeat(item.key)

    @activity.defn(name="mirror_order")
    async def mirror_order(self, inp: MirrorInput) -> None:
        await self.mirror.record(inp.state, inp.events)

    def all(self) -> list:
        return [self.setup_tenant, self.create_mailboxes, self.get_domain_txt,
                self.verify_domain, self.apply_tenant_step, self.check_mx,
                self.check_agents_readiness, self.flip_agents, self.remove_service_identity,
                self.finish_order, self.send_notifications, self.mirror_order]

