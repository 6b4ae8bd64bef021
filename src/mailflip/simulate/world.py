"""The simulated world: tenant, DNS, agents, mail and SMTP as a scenario's `world:` says.

It implements the same ports as the real adapters. It never sleeps: work that takes
simulated time raises a retryable error with `next_retry_delay` on its first attempt
(the time-skipping server skips the wait) and completes on the next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from mailflip.errors import CredentialsInvalid, SimulatedFault, SyncItemError
from mailflip.lifecycle.order.activities import attempt_now
from mailflip.lifecycle.ports import (
    DomainCheck,
    MailboxToCreate,
    PassResult,
    SetupResult,
    TenantRef,
)


@dataclass
class WorldConfig:
    credentials_valid: bool = True
    licenses: dict[str, int] = field(default_factory=dict)
    verified_domains: list[str] = field(default_factory=list)
    mailbox_create_fails: list[str] = field(default_factory=list)
    txt_published_at: dict[str, datetime | None] = field(default_factory=dict)
    mx_to_m365_at: dict[str, datetime | None] = field(default_factory=dict)
    agents: dict[str, str] = field(default_factory=dict)
    sync_duration: timedelta = timedelta(minutes=30)
    sync_fail: list[tuple[str, str]] = field(default_factory=list)
    faults: list[tuple[str, datetime]] = field(default_factory=list)


def _scenario_now_factory(offset: timedelta) -> Callable[[], datetime]:
    def now() -> datetime:
        return attempt_now() - offset

    return now


class SimulatedWorld:
    """Every port at once; `now()` is scenario time of the current activity attempt."""

    def __init__(self, cfg: WorldConfig, offset: timedelta,
                 now: Callable[[], datetime] | None = None) -> None:
        self.cfg = cfg
        self.offset = offset
        self.now = now or _scenario_now_factory(offset)
        self.mailboxes: dict[str, str] = {}  # address -> "onmicrosoft" | "vanity"
        self.service_identity = False
        self.steps: list[str] = []
        self.flipped: list[str] = []
        self.sent: dict[str, tuple[str, str]] = {}  # outbox: key -> (template, to)

    # ------------------------------------------------------------------ faults
    def check(self, ctp: str) -> None:
        for name, until in self.cfg.faults:
            if name == ctp and self.now() < until:
                raise SimulatedFault(f"{ctp}: simulated fault until {until.isoformat()}")

    # ------------------------------------------------------------------ tenant
    async def setup(self, t: TenantRef, vanity_domains: list[str]) -> SetupResult:
        if not self.cfg.credentials_valid:
            raise CredentialsInvalid("the tenant refused the credentials (AADSTS50126)")
        self.service_identity = True
        verified = [d for d in vanity_domains if d in self.cfg.verified_domains]
        return SetupResult(verified, dict(self.cfg.licenses))

    async def create_mailboxes(self, t: TenantRef, items: list[MailboxToCreate]
                               ) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for it in items:
            if it.address in self.cfg.mailbox_create_fails:
                out[it.address] = "New-Mailbox failed: the proxy address is already in use"
            else:
                self.mailboxes[it.address] = "onmicrosoft" if it.on_initial_domain else "vanity"
                out[it.address] = None
        return out

    async def move_to_vanity(self, t: TenantRef, addresses: list[str]) -> None:
        for a in addresses:
            self.mailboxes[a] = "vanity"

    async def domain_txt(self, t: TenantRef, domain: str) -> list[str]:
        digest = hashlib.sha256(f"{t.initial_domain}/{domain}".encode()).hexdigest()[:8]
        return [f"MS=ms{int(digest, 16)}"]

    async def verify_domain(self, t: TenantRef, domain: str) -> DomainCheck:
        at = self.cfg.txt_published_at.get(domain)
        if domain in self.cfg.verified_domains or (at is not None and self.now() >= at):
            return DomainCheck(True)
        # The TXT record shows up at `at` (or never): polls before that are futile.
        # `not_before` is in the activity's (server) clock.
        hint = at if at is not None else self.now() + timedelta(days=1)
        return DomainCheck(False, hint + self.offset)

    async def apply_step(self, t: TenantRef, step: str, payload: dict[str, Any]) -> None:
        self.steps.append(step)

    async def remove_service_identity(self, t: TenantRef) -> None:
        self.service_identity = False

    # --------------------------------------------------------------------- DNS
    async def mx_hosts(self, domain: str) -> list[str]:
        at = self.cfg.mx_to_m365_at.get(domain)
        if at is not None and self.now() >= at:
            return [domain.replace(".", "-") + ".mail.protection.outlook.com"]
        return [f"mx1.{domain}"]

    # ------------------------------------------------------------------ agents
    async def readiness(self, order_id: str, addresses: list[str]) -> dict[str, str]:
        return {a: self.cfg.agents.get(a, "ready") for a in addresses}

    async def flip(self, order_id: str, addresses: list[str]) -> None:
        self.flipped.extend(a for a in addresses if self.cfg.agents.get(a, "ready") == "ready")

    async def stop(self, order_id: str) -> None:
        return None

    # -------------------------------------------------------------------- SMTP
    async def send(self, order_id: str, key: str, template: str, to: str,
                   context: dict[str, Any]) -> bool:
        if key in self.sent:
            return False
        self.sent[key] = (template, to)
        return True

    # -------------------------------------------------------------------- mail
    async def run_pass(self, order_id: str, mailbox: str, source: str, pass_name: str,
                       progress: Callable[[dict[str, Any]], None]) -> PassResult:
        if activity.info().attempt == 1 and self.cfg.sync_duration > timedelta(0):
            raise ApplicationError("pass in progress (simulated)", type="SimulatedPass",
                                   next_retry_delay=self.cfg.sync_duration,
                                   category=ApplicationErrorCategory.BENIGN)
        if (mailbox, pass_name) in self.cfg.sync_fail or (source, pass_name) in self.cfg.sync_fail:
            raise SyncItemError(f"{pass_name} pass of {mailbox} failed (simulated)")
        progress({"messages": 100})
        return PassResult(messages=100, bytes=100 * 40_000, folders=5)
