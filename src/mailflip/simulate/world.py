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

from mailflip.domain.names import POST_CUTOVER_PASSES, Ctp
from mailflip.domain.reconcile import Absent, Reconciliation
from mailflip.domain.rules import m365_mx_host
from mailflip.errors import CredentialsInvalid, InvalidInput, NotYetDone, SyncItemError
from mailflip.lifecycle.order.activities import attempt_now
from mailflip.mail.port import PassResult
from mailflip.tenant.port import MailboxToCreate, SetupResult, TenantRef

from .faults import FaultInjector
from .scenario import Clock, WorldIn, span

# A TXT record that never appears: the world still lets the order poll once a day.
NEVER_POLL_GAP = timedelta(days=1)


@dataclass(frozen=True)
class SyncFail:
    """`world.sync.fail`: a mailbox's pass fails permanently (every run that starts before
    `until`), or with transient errors until `until` (None: always)."""

    mailbox: str
    pass_name: str
    until: datetime | None = None
    transient: bool = False


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
    sync_fail: list[SyncFail] = field(default_factory=list)
    pass_give_up: timedelta = timedelta(hours=24)  # R-PASS-RETRY
    # R-RECONCILE: messages the target refuses, per mailbox; messages still missing
    # after passes that end before an instant: (mailbox, count, until)
    sync_skipped: dict[str, int] = field(default_factory=dict)
    sync_missing: list[tuple[str, int, datetime]] = field(default_factory=list)
    faults: list[tuple[str, datetime]] = field(default_factory=list)
    # The order's domain poll interval: polls the world knows to be futile are skipped
    # on that grid. None (a live world, many orders): answer every poll.
    verify_interval: timedelta | None = None


def world_config(w: WorldIn, clock: Clock, *, dns: bool = True) -> WorldConfig:
    """The world of a scenario or a live world file (`world:`, SCENARIOS.md). `dns=False`
    leaves the DNS instants to the caller (a live world fixes them at first sight)."""
    for i, f in enumerate(w.faults):
        if f.ctp not in {c.value for c in Ctp}:
            raise InvalidInput(f"world.faults.{i}.ctp", f"{f.ctp!r} is not a CTP name")
    config = WorldConfig(
        credentials_valid=w.tenant.credentials_valid,
        licenses=dict(w.tenant.licenses),
        verified_domains=[d.lower() for d in w.tenant.verified_domains],
        mailbox_create_fails=[a.lower() for a in w.tenant.mailbox_create_fails],
        agents={a.lower(): v for a, v in w.agents.items()},
        sync_duration=span("world.sync.duration", w.sync.duration, allow_zero=True),
        sync_fail=[SyncFail(f.mailbox.lower(), f.pass_,
                            clock.at(f"world.sync.fail.{i}.until", f.until) if f.until else None,
                            f.transient) for i, f in enumerate(w.sync.fail)],
        sync_skipped={a.lower(): n for a, n in w.sync.skipped.items()},
        sync_missing=[(f.mailbox.lower(), f.count,
                       clock.at(f"world.sync.missing.{i}.until", f.until))
                      for i, f in enumerate(w.sync.missing)],
        faults=[(f.ctp, clock.at(f"world.faults.{i}.until", f.until))
                for i, f in enumerate(w.faults)],
    )
    if dns:
        for d, v in w.dns.items():
            config.txt_published_at[d] = clock.maybe(f"world.dns.{d}.txt_published_at",
                                                     v.txt_published_at)
            config.mx_to_m365_at[d] = clock.maybe(f"world.dns.{d}.mx_to_m365_at",
                                                  v.mx_to_m365_at)
    return config


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

    def faults(self) -> FaultInjector:
        """The interceptor a worker installs to play `world.faults`."""
        return FaultInjector(self.cfg.faults, self.now)

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

    def txt_published(self, domain: str) -> bool:
        """Whether the domain's TXT record is in DNS now (for a tenant that verifies
        through DNS, e.g. the local Microsoft 365, while the world plays DNS)."""
        at = self.cfg.txt_published_at.get(domain)
        return domain in self.cfg.verified_domains or (at is not None and self.now() >= at)

    async def verify_domain(self, t: TenantRef, domain: str) -> bool:
        at = self.cfg.txt_published_at.get(domain)
        now = self.now()
        if domain in self.cfg.verified_domains or (at is not None and now >= at):
            return True
        poll = self.cfg.verify_interval
        if poll is None:
            return False
        # The TXT record shows up at `at` (or never): skip the polls before it, staying
        # on the order's poll grid, as a real tenant that said "not before" would.
        wait = (at - now) if at is not None else NEVER_POLL_GAP
        polls = max(1, -(-wait // poll))  # ceiling: the first poll at or after `at`
        raise ApplicationError(f"{domain} not verified yet (simulated)",
                               type=NotYetDone.__name__, next_retry_delay=polls * poll,
                               category=ApplicationErrorCategory.BENIGN)

    async def apply_step(self, t: TenantRef, step: str, payload: dict[str, Any]) -> None:
        self.steps.append(step)

    async def remove_service_identity(self, t: TenantRef) -> None:
        self.service_identity = False

    # --------------------------------------------------------------------- DNS
    async def mx_hosts(self, domain: str) -> list[str]:
        at = self.cfg.mx_to_m365_at.get(domain)
        if at is not None and self.now() >= at:
            return [m365_mx_host(domain)]
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
                       progress: Callable[[dict[str, Any]], None],
                       report_subjects: bool = False,
                       resumed: bool = False) -> PassResult:
        """A pass that works for `sync.duration` (R-PASS-LONG: any length, across
        attempts), after transient errors until their `until` (R-PASS-RETRY: given up
        `pass_give_up` after the pass began), or failing permanently."""
        now = self.now()
        began = activity.info().scheduled_time - self.offset  # the pass's first attempt
        works_from = began
        for f in self.cfg.sync_fail:
            if f.pass_name != pass_name or f.mailbox not in (mailbox, source):
                continue
            if f.transient:
                if f.until is None or now < f.until:
                    give_up = began + self.cfg.pass_give_up
                    if now >= give_up:
                        raise SyncItemError(f"{pass_name} pass of {mailbox}: still failing "
                                            f"after {self.cfg.pass_give_up} of transient "
                                            "errors (simulated): given up")
                    retry_at = give_up if f.until is None else min(f.until, give_up)
                    raise ApplicationError("connection lost (simulated transient error)",
                                           type="SimulatedTransient",
                                           next_retry_delay=retry_at - now)
                works_from = max(works_from, f.until)
        done_at = works_from + self.cfg.sync_duration
        if now < done_at:
            raise ApplicationError("pass in progress (simulated)", type="SimulatedPass",
                                   next_retry_delay=done_at - now,
                                   category=ApplicationErrorCategory.BENIGN)
        for f in self.cfg.sync_fail:
            if (not f.transient and f.pass_name == pass_name and f.mailbox in (mailbox, source)
                    and (f.until is None or began < f.until)):
                raise SyncItemError(f"{pass_name} pass of {mailbox} failed (simulated)")
        progress({"messages": 100})
        rec = None
        if pass_name in POST_CUTOVER_PASSES:
            rec = self.reconcile(mailbox, source, now)
        return PassResult(messages=100, bytes=100 * 40_000, folders=5, reconciliation=rec)

    def reconcile(self, mailbox: str, source: str, now: datetime) -> Reconciliation:
        """A mailbox of 100 messages, less what `sync.skipped` / `sync.missing` say."""
        n_skipped = self.cfg.sync_skipped.get(mailbox, self.cfg.sync_skipped.get(source, 0))
        n_missing = sum(n for who, n, until in self.cfg.sync_missing
                        if who in (mailbox, source) and now < until)

        def absent(i: int, reason: str) -> Absent:
            return Absent("INBOX", "2026-11-30T12:00:00Z", 40_000 if not reason else 60_000_000,
                          f"<sim-{i}@{mailbox.split('@')[-1]}>", reason)

        skipped = [absent(i, "target refused: message over the 35 MB size limit (simulated)")
                   for i in range(n_skipped)]
        missing = [absent(n_skipped + i, "") for i in range(n_missing)]
        return Reconciliation(source_messages=100, source_bytes=100 * 40_000,
                              present=100 - n_skipped - n_missing, skipped=skipped,
                              missing=missing)
