"""Whole orders on the real workflows with GraphTenant against the local Microsoft 365
misbehaving as M365.md §9 says (429 storms, lost create responses, slow mailbox
provisioning, a missing permission): the order still completes, or raises the task
SPEC.md names, and the tenant holds no duplicate user, group or permission.

The simulator runs in-process (httpx over ASGI); its clock follows the time-skipping
server's (each activity attempt moves it to the attempt's time) and the adapter's
waits move it on instead of sleeping. Its DNS is the scenario's world: a domain's TXT
record is "published" from the world's `txt_published_at` on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from mailflip.domain.names import Ctp, Status
from mailflip.lifecycle.order.activities import attempt_now
from mailflip.simulate.runner import Driver, Outcome
from mailflip.simulate.scenario import parse
from mailflip.simulate.world import SimulatedWorld
from mailflip.tenant.auth import FormTokenSource, TenantCredentials
from mailflip.tenant.graph import GraphTenant
from mailflip.tenant.port import TenantRef
from mailflip.tenant.simulator import Knobs, ManualClock, create_app
from tests.adapters.m365_world import ALL_GRAPH, BASE, CLIENT_ID, SECRET, TENANT_ID, config

from .kit import base, ctp_states, first, merge, of, statuses

SKU = "O365_BUSINESS_PREMIUM"
USERS = [{"name": f"User {i}", "source": f"u{i}@contoso.com", "target": f"u{i}@contoso.com",
          "sku": SKU} for i in range(1, 7)]
# realistic defaults (a token bucket, hidden reads after create, 5 min to a mailbox,
# accepted-domain and grant lags), each test adding its own fault
REALISTIC = Knobs()


class FollowServerTime(Interceptor):
    """Each activity attempt moves the simulator's clock to the attempt's server time."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        clock = self.clock

        class Follow(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                clock.now = max(clock.now, attempt_now().timestamp())
                return await super().execute_activity(input)

        return Follow(next)


@dataclass
class InProcessM365:
    clock: ManualClock
    app: Any
    world: SimulatedWorld | None = None

    @property
    def tenant(self) -> Any:  # the simulator's SimulatedTenant
        return self.app.state.tenants[TENANT_ID]

    async def txt(self, name: str) -> list[str]:
        """The world's DNS: the tenant's record once the scenario publishes it."""
        assert self.world is not None
        return [self.tenant.verification_code(name)] if self.world.txt_published(name) else []

    def graph_tenant(self, world: SimulatedWorld) -> GraphTenant:
        self.world = world
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE)

        async def creds(t: TenantRef) -> TenantCredentials:
            return TenantCredentials(t.initial_domain, CLIENT_ID, SECRET)

        async def waited(seconds: float) -> None:  # the adapter's waits, on the clock
            self.clock.advance(seconds)

        return GraphTenant(creds, login_url=BASE, graph_url=BASE, exo_url=BASE, http=http,
                           tokens=FormTokenSource(creds, http, BASE, clock=self.clock),
                           sleep=waited)


async def run_on_m365(sc: dict[str, Any], knobs: Knobs = REALISTIC,
                      graph: tuple[str, ...] = ALL_GRAPH) -> tuple[Outcome, InProcessM365]:
    clock = ManualClock(0.0)
    m365 = InProcessM365(clock, None)
    m365.app = create_app(replace(config(knobs, graph=graph, units=20, clock=clock),
                                  resolver=m365.txt))
    outcome = await Driver(parse(sc), tenant=m365.graph_tenant,
                           interceptors=[FollowServerTime(clock)]).run()
    return outcome, m365


def order(**changes: Any) -> dict[str, Any]:
    """Six users, a shared mailbox and a group; the TXT record published after 2 hours."""
    sc = merge(base(users=USERS, shared_mailboxes=[{"name": "Info",
                                                     "address": "info@contoso.com"}],
                    distribution_groups=[{"address": "team@contoso.com",
                                          "members": ["u1@contoso.com", "u2@contoso.com"]}]),
               until="complete",
               world={"tenant": {"licenses": {SKU: 20}},
                      "dns": {"contoso.com": {"txt_published_at": "+2h",
                                              "mx_to_m365_at": "+21d"}}})
    return merge(sc, **changes)


def assert_no_duplicates(m365: InProcessM365) -> None:
    t = m365.tenant
    upns = Counter(u.user_principal_name.lower() for u in t.users.values())
    assert upns and max(upns.values()) == 1, upns
    names = Counter(g.primary_smtp.lower() for g in t.exchange.groups.values())
    assert max(names.values(), default=1) == 1, names
    perms = Counter(t.exchange.permissions)
    assert max(perms.values(), default=1) == 1, perms


def assert_completed_cleanly(out: Outcome, m365: InProcessM365) -> None:
    assert statuses(out)[-1] == Status.COMPLETE.value, statuses(out)
    assert not of(out, "alert"), of(out, "alert")
    assert not of(out, "task"), of(out, "task")
    t = m365.tenant
    mailboxes = {m.primary_smtp.lower() for m in t.exchange.mailboxes.values()}
    assert {u["target"] for u in USERS} | {"info@contoso.com"} <= mailboxes
    assert_no_duplicates(m365)
    # Delete SKImpersonator Accounts removed MigrationApp, its grants and mailbox access
    assert not t.applications and not t.deleted and not t.grants
    assert not t.exchange.permissions and not t.exchange.role_assignments


async def test_order_completes_on_a_realistic_local_m365() -> None:
    out, m365 = await run_on_m365(order())
    assert_completed_cleanly(out, m365)
    assert first(out, "status", status=Status.CREATING_MAILBOXES.value)


async def test_create_mailboxes_rides_out_a_429_storm_without_duplicates() -> None:
    storm = replace(REALISTIC, throttle_every=2, retry_after_s=20, retry_after_missing_every=3)
    out, m365 = await run_on_m365(order(), storm)
    assert_completed_cleanly(out, m365)


async def test_lost_create_responses_leave_no_duplicate_user() -> None:
    out, m365 = await run_on_m365(order(), replace(REALISTIC, lose_create_every=2))
    assert_completed_cleanly(out, m365)


async def test_a_mailbox_provisioned_after_20_minutes_is_waited_for() -> None:
    out, m365 = await run_on_m365(order(), replace(REALISTIC, mailbox_delay_s=20 * 60))
    assert_completed_cleanly(out, m365)
    began = first(out, "ctp", ctp=Ctp.CREATE_MAILBOXES.value, state="running")["at"]
    done = first(out, "ctp", ctp=Ctp.CREATE_MAILBOXES.value, state="completed")["at"]
    took = datetime.fromisoformat(done) - datetime.fromisoformat(began)
    assert took.total_seconds() >= 20 * 60


async def test_r_ctp_s2_missing_permission_opens_the_credentials_task_naming_it() -> None:
    lacking = tuple(p for p in ALL_GRAPH if p != "User.ReadWrite.All")
    out, m365 = await run_on_m365(order(until="+1d"), graph=lacking)
    assert ctp_states(out, Ctp.SETUP_O365.value) == ["running", "failed"]
    first(out, "task", code="o365_credentials_invalid", state="open")
    [task] = out.state.open_tasks("o365_credentials_invalid")
    assert "User.ReadWrite.All" in task.detail
    assert f"{BASE}/contoso.onmicrosoft.com/adminconsent?client_id={CLIENT_ID}" in \
        task.detail
    assert not of(out, "alert", code="ctp_failed")  # the partner's task, not an alert
    assert not m365.tenant.applications and not m365.tenant.users  # nothing was made
