"""The order workflow's machinery and CTP bodies (workflow code: deterministic).

A body calls activities and hands their results to a pure function in
`mailflip.domain.outcomes`; `commit()` then turns the Change into timeline events,
notifications to send and commands for the syncs workflow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import astuple, replace
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from mailflip.domain import outcomes as out
    from mailflip.domain import syncs as chain
    from mailflip.domain.lifecycle import Change, SyncCommand
    from mailflip.domain.model import OrderState
    from mailflip.domain.names import Ctp, CtpState, Rule, SyncCommandKind, Template
    from mailflip.domain.planner import CheckReadiness, Item, RunCtp, SsiCreate, rule_key
    from mailflip.domain.rules import Timings
    from mailflip.domain.timeline import TimelineEvent
    from mailflip.errors import CredentialsInvalid
    from mailflip.lifecycle.syncs.activities import SyncsActivities
    from mailflip.lifecycle.syncs.messages import CommandSyncsInput, SyncsCommand, SyncsInput
    from mailflip.tenant.port import MailboxToCreate, SetupResult, TenantRef

    from . import policies
    from .activities import OrderActivities
    from .messages import (
        AgentsInput,
        AgentsResult,
        AttemptResult,
        CreateMailboxesInput,
        CreateMailboxesResult,
        CtpInput,
        DomainInput,
        DomainTxtResult,
        EngineSettings,
        MirrorInput,
        MxInput,
        MxResult,
        NotifyInput,
        Outgoing,
        SetupInput,
        StepInput,
    )

A = TypeVar("A")
R = TypeVar("R")

# Work per workflow task stays bounded in big orders: notifications per activity, and
# timeline events and changed mailboxes per mirror write (the rest go in the next one).
NOTIFY_BATCH = 500
NOTIFY_IN_FLIGHT = 2
MIRROR_EVENTS = 2000
MIRROR_MAILBOXES = 2000

# Commands with nothing to act on before the syncs workflow exists.
NEED_SYNCS = (SyncCommandKind.STOP, SyncCommandKind.REMOVE, SyncCommandKind.RESYNC)

POST_CREATE_STEPS = {
    Ctp.CONTACT_ALIASES: "contact_aliases",
    Ctp.SHARED_ALIASES: "shared_mailbox_aliases",
    Ctp.DISTRIBUTION_GROUPS: "distribution_groups",
    Ctp.MAIL_FLOW_MAILBOX: "mail_flow_mailbox",
}


def _error_text(exc: BaseException) -> tuple[str, str]:
    """(type, message) of the root cause of an activity failure."""
    cause: BaseException = exc
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        return cause.type or "ApplicationError", cause.message
    return type(cause).__name__, str(cause)


class Bodies:
    s: OrderState
    t: Timings
    cfg: EngineSettings

    def init_runtime(self, event_seq: int, first_run: bool) -> None:
        self.seq = event_seq
        self.changed = False
        self.buffer: list[TimelineEvent] = []
        self.inflight: set[Item] = set()  # planner items running (none across CAN)
        self.tasks: dict[Item, asyncio.Task[None]] = {}
        self.bg: set[asyncio.Task[None]] = set()
        self.sync_queue: list[SyncCommand] = []
        self.mirrored: dict[str, tuple[Any, ...]] = {}
        self.mirroring = False
        self.dirty = True  # state changed since the last mirror write
        self.syncing = False
        if first_run:
            self.emit("status", {"status": self.s.status.value})

    # ---------------------------------------------------------------- plumbing
    def change(self) -> Change:
        return Change(self.s, workflow.now(), self.t)

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        self.seq += 1
        self.buffer.append(TimelineEvent(workflow.now(), kind, data, "order", self.seq))

    def commit(self, c: Change) -> None:
        for kind, data in c.events:
            self.emit(kind, data)
        if c.outbox:
            self.background(self.send(c.outbox))
        if c.sync:
            self.sync_queue.extend(c.sync)
            if not self.syncing:
                self.background(self.send_sync_commands())
        self.changed = True
        self.dirty = True

    def background(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self.bg.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.bg.discard(t)
            self.changed = True

        task.add_done_callback(done)

    def busy(self) -> bool:
        return bool(self.inflight or self.bg or self.buffer or self.sync_queue
                    or (self.dirty and self.cfg.mirror))

    async def drain(self) -> None:
        while self.busy():
            self.flush()
            await workflow.wait_condition(lambda: self.changed)
            self.changed = False

    def tenant(self) -> TenantRef:
        return TenantRef(self.s.order_id, self.s.spec.initial_domain,
                         self.s.credentials_version)

    # ---------------------------------------------------------------- mirror
    def flush(self) -> None:
        """Mirror the state and new timeline events to the store, one write at a time;
        changes made while a write runs go out in the next one."""
        if not self.cfg.mirror:
            self.buffer.clear()
            self.dirty = False
            return
        if self.mirroring or not (self.buffer or self.dirty):
            return
        events, self.buffer = self.buffer[:MIRROR_EVENTS], self.buffer[MIRROR_EVENTS:]
        self.dirty = False
        changed: dict[str, Any] = {}
        for addr, m in self.s.mailboxes.items():
            row = tuple(vars(m).values())  # flat scalars: no deep copy (10,000 of them)
            if self.mirrored.get(addr) != row:
                if len(changed) == MIRROR_MAILBOXES:
                    self.dirty = True  # the rest in the next write
                    break
                changed[addr] = m
                self.mirrored[addr] = row
        # the store needs neither the sent keys nor the fired rules (history size)
        snapshot = replace(self.s, mailboxes=changed, sent=[], fired=[])
        self.mirroring = True

        async def write() -> None:
            try:
                await workflow.execute_activity_method(
                    OrderActivities.mirror_order, MirrorInput(snapshot, events),
                    **self.opts(policies.DELIVERY))
            finally:
                self.mirroring = False

        self.background(write())

    # ----------------------------------------------------------- notifications
    async def send(self, items: list[Any]) -> None:
        """Hand notifications to the outbox, NOTIFY_BATCH per activity (10,000 users'
        emails are 20 activities, whose completions each record their part)."""

        async def batch(part: list[Any]) -> None:
            outgoing = [Outgoing(n.key, n.template, n.to, n.context) for n in part]
            await workflow.execute_activity_method(
                OrderActivities.send_notifications, NotifyInput(self.s.order_id, outgoing),
                **self.opts(policies.DELIVERY))
            for n in part:
                self.emit("email", {"template": n.template, "to": n.to})

        if len(items) <= NOTIFY_BATCH:
            await batch(items)  # (commands in the order histories before batching have)
            return
        parts = [items[i:i + NOTIFY_BATCH] for i in range(0, len(items), NOTIFY_BATCH)]
        if not workflow.patched("notify-batches-in-turn"):
            await asyncio.gather(*(batch(p) for p in parts))  # (histories before the patch)
            return
        # NOTIFY_IN_FLIGHT at a time: a task then encodes (and records) at most that many
        # batches, not 10,000 users' emails at once
        ahead = asyncio.Semaphore(NOTIFY_IN_FLIGHT)

        async def in_turn(part: list[Any]) -> None:
            async with ahead:
                await batch(part)

        await asyncio.gather(*(in_turn(p) for p in parts))

    # ------------------------------------------------------------------ syncs
    async def send_sync_commands(self) -> None:
        """Hand commands to the syncs workflow, in order, one at a time."""
        self.syncing = True
        try:
            while self.sync_queue:
                cmd = self.sync_queue.pop(0)
                if not self.s.syncs_started and cmd.kind in NEED_SYNCS:
                    continue  # nothing to stop or resync yet
                if cmd.kind is SyncCommandKind.STOP and self.s.completed \
                        and not workflow.patched("syncs-live-until-stopped"):
                    continue  # histories before the patch: the syncs workflow had ended
                self.s.syncs_started = True
                if not self.s.syncs_shards:  # decided once: a mailbox stays in its shard
                    self.s.syncs_shards = chain.shard_count(
                        len(self.s.active_mailboxes()), self.cfg.syncs_window,
                        self.cfg.syncs_shard_size)
                syncs = SyncsInput(order_id=self.s.order_id, window=self.cfg.syncs_window,
                                   continue_every=self.cfg.syncs_continue_every,
                                   sweep_interval_s=self.t.sweep_interval.total_seconds(),
                                   sweep_until_s=self.t.sweep_until.total_seconds(),
                                   pass_give_up_s=self.cfg.pass_give_up_s / self.cfg.time_scale,
                                   pass_heartbeat_s=self.cfg.pass_heartbeat_s,
                                   pass_task_queue=self.cfg.pass_task_queue,
                                   time_scale=self.cfg.time_scale)
                await workflow.execute_activity_method(
                    SyncsActivities.command_syncs, CommandSyncsInput(syncs, SyncsCommand(
                        cmd.kind, cmd.mailboxes, cmd.sources, self.s.spec.cutover,
                        cmd.pass_name, self.s.spec.settings.report_subjects),
                        self.s.syncs_shards),
                    **self.opts(policies.DELIVERY))
        finally:
            self.syncing = False

    # ------------------------------------------------------------------- items
    def launch(self, item: Item) -> None:
        body: Awaitable[None]
        if isinstance(item, RunCtp):
            if self.s.ctp_state(item.ctp.value) is not CtpState.RUNNING:
                c = self.change()
                c.start_ctp(item.ctp)
                self.commit(c)
            body = self.run_ctp(item.ctp)
        elif isinstance(item, SsiCreate):
            body = self.ssi_create()
        elif isinstance(item, CheckReadiness):
            body = self.readiness()
        else:
            raise ValueError(f"{item} is not run by the workflow")
        self.inflight.add(item)

        async def run() -> None:
            try:
                await body
            finally:
                self.inflight.discard(item)
                self.tasks.pop(item, None)
                self.changed = True

        self.tasks[item] = asyncio.ensure_future(run())

    def cancel_running(self) -> None:
        for item, task in list(self.tasks.items()):
            if item != RunCtp(Ctp.DELETE_SERVICE_ACCOUNTS):
                task.cancel()

    async def call(self, activity: Callable[[Any, A], Awaitable[R]], arg: A,
                   call: policies.Call = policies.CTP_WORK) -> R:
        return await workflow.execute_activity_method(activity, arg, **self.opts(call))

    def opts(self, call: policies.Call) -> dict[str, Any]:
        """`call`'s activity options at this order's time scale (1 in production)."""
        return call.scaled(self.cfg.time_scale).kwargs()

    async def run_ctp(self, ctp: Ctp) -> None:
        bodies: dict[Ctp, Callable[[], Awaitable[None]]] = {
            Ctp.SETUP_O365: self.setup,
            Ctp.PWD_FLAGS: self.pwd_flags,
            Ctp.GATHER_INFO: self.gather,
            Ctp.INITIATING_VANITY: self.initiating,
            Ctp.VERIFY_VANITY: self.verify,
            Ctp.CREATE_MAILBOXES: self.create_mailboxes,
            Ctp.PREPARE_EMAILS: lambda: self.mail_users(Ctp.PREPARE_EMAILS,
                                                        Template.USER_PREPARE_FOR_MIGRATION),
            Ctp.UPDATING_MX: self.updating_mx,
            Ctp.MIGRATE_EMAIL: self.migrate_email,
            Ctp.MIGRATION_SUCCESS_EMAILS: lambda: self.mail_users(
                Ctp.MIGRATION_SUCCESS_EMAILS, Template.USER_MIGRATION_SUCCESSFUL),
            Ctp.DELETE_SERVICE_ACCOUNTS: self.delete_service_accounts,
            Ctp.COMPLETED_STEPS: self.completed_steps,
        }
        body = bodies.get(ctp) or (lambda: self.tenant_step(ctp))
        try:
            await body()
        except ActivityError as exc:
            kind, message = _error_text(exc)
            c = self.change()
            if ctp is Ctp.SETUP_O365:
                out.setup_failed(c, message, credentials=kind == CredentialsInvalid.__name__)
            else:
                c.fail_ctp(ctp, message)
            self.commit(c)
        except (asyncio.CancelledError, CancelledError):
            c = self.change()
            c.fail_ctp(ctp, "cancelled", alert=False)
            self.commit(c)

    def complete(self, ctp: Ctp, attempts: int = 0) -> None:
        c = self.change()
        c.complete_ctp(ctp, attempts)
        self.commit(c)

    async def commit_and_send(self, c: Change) -> None:
        """Commit the Change and wait until its notifications went out."""
        outbox, c.outbox = c.outbox, []
        self.commit(c)
        if outbox:
            await self.send(outbox)

    async def notify_then_complete(self, c: Change, ctp: Ctp) -> None:
        await self.commit_and_send(c)
        self.complete(ctp)

    # ------------------------------------------------------------------ bodies
    async def setup(self) -> None:
        res: SetupResult = await self.call(
            OrderActivities.setup_tenant, SetupInput(Ctp.SETUP_O365.value, self.tenant(),
                                       sorted(self.s.domains)))
        c = self.change()
        out.setup_done(c, res.verified_domains, res.licenses_available, 1)
        self.commit(c)

    async def pwd_flags(self) -> None:
        c = self.change()
        out.pwd_flags_done(c)
        self.commit(c)

    async def gather(self) -> None:
        c = self.change()
        for m in out.gather_recipients(c):
            c.notify(Template.USER_GATHER_INFO, m.address, "gather", name=m.name)
        await self.notify_then_complete(c, Ctp.GATHER_INFO)

    async def create_on_tenant(self, ctp: Ctp, items: list[MailboxToCreate],
                               move: list[str] | None = None) -> CreateMailboxesResult:
        return await self.call(OrderActivities.create_mailboxes, CreateMailboxesInput(
            ctp.value, self.tenant(), items, move or []), policies.MAILBOX_WORK)

    async def ssi_create(self) -> None:
        """SSI: early mailboxes (on .onmicrosoft.com while the vanity domain is unverified)."""
        c = self.change()
        todo = {m.address: out.on_initial_domain(c, m) for m in out.ssi_candidates(c)}
        if not todo:
            return
        names = {m.address: m.name for m in out.ssi_candidates(c)}
        res = await self.create_on_tenant(Ctp.INITIATING_VANITY, [
            MailboxToCreate(a, names[a], "user", initial) for a, initial in todo.items()])
        c = self.change()
        out.ssi_created(c, res.failures, todo)
        self.commit(c)

    async def initiating(self) -> None:
        if self.s.spec.settings.ssi:
            await self.ssi_create()
        unverified = sorted(d.name for d in self.s.domains.values() if not d.verified)
        c = self.change()
        if unverified:
            txt: DomainTxtResult = await self.call(OrderActivities.get_domain_txt, MxInput(
                Ctp.INITIATING_VANITY.value, self.tenant(), unverified))
            c = self.change()
            c.notify(Template.PARTNER_DNS_TXT, self.s.spec.partner_address, "dns_txt",
                     records=txt.records)
        await self.notify_then_complete(c, Ctp.INITIATING_VANITY)

    async def verify(self) -> None:
        """R-CTP-S4: poll every unverified domain (the retry policy is the poll loop)."""
        poll = policies.polling(self.t.verify_interval)
        attempts = 0

        async def one(domain: str) -> None:
            nonlocal attempts
            res: AttemptResult = await self.call(OrderActivities.verify_domain, DomainInput(
                Ctp.VERIFY_VANITY.value, self.tenant(), domain,
                self.t.verify_interval.total_seconds()), poll)
            attempts += res.attempts
            self.s.domains[domain].verified = True
            self.changed = self.dirty = True

        await asyncio.gather(*(one(d.name) for d in self.s.domains.values() if not d.verified))
        if self.s.spec.settings.rules_and_connectors:
            await self.call(OrderActivities.apply_tenant_step, StepInput(
                Ctp.VERIFY_VANITY.value, self.tenant(), "rules_and_connectors"))
        self.complete(Ctp.VERIFY_VANITY, attempts)

    async def create_mailboxes(self) -> None:
        """R-CTP-S5: flip early mailboxes, create the rest, public folders, permissions."""
        boxes = [m for m in self.s.active_mailboxes()]
        move = [m.address for m in boxes if m.created == "onmicrosoft"]
        todo = [m for m in boxes if not m.created]
        res = await self.create_on_tenant(
            Ctp.CREATE_MAILBOXES, [MailboxToCreate(m.address, m.name, m.kind) for m in todo],
            move)
        if self.s.spec.public_folders or self.s.spec.permissions:
            await self.call(OrderActivities.apply_tenant_step, StepInput(
                Ctp.CREATE_MAILBOXES.value, self.tenant(), "folders_and_permissions",
                {"public_folders": self.s.spec.public_folders,
                 "permissions": [astuple(p) for p in self.s.spec.permissions]}))
        c = self.change()
        out.create_mailboxes_done(c, res.failures, [m.address for m in todo], move,
                                  res.attempts)
        self.commit(c)

    async def tenant_step(self, ctp: Ctp) -> None:
        spec = self.s.spec
        payloads: dict[Ctp, dict[str, Any]] = {
            Ctp.CONTACT_ALIASES: {"contacts": spec.mail_contacts},
            Ctp.SHARED_ALIASES: {"shared": [m.address for m in self.s.active_mailboxes()
                                            if m.kind == "shared"]},
            Ctp.DISTRIBUTION_GROUPS: {"groups": [[g.address, g.members]
                                                 for g in spec.distribution_groups]},
            Ctp.MAIL_FLOW_MAILBOX: {"address": f"mailflip-mailflow@{spec.initial_domain}"},
        }
        payload = payloads[ctp]
        res: AttemptResult = await self.call(OrderActivities.apply_tenant_step, StepInput(
            ctp.value, self.tenant(), POST_CREATE_STEPS[ctp], payload))
        self.complete(ctp, res.attempts)

    async def mail_users(self, ctp: Ctp, template: Template) -> None:
        c = self.change()
        trigger = template.value.removeprefix("user_")
        for m in c.s.user_mailboxes():
            c.notify(template, m.address, trigger, name=m.name)
        await self.notify_then_complete(c, ctp)

    async def readiness(self) -> None:
        """R-READINESS-4H."""
        c = self.change()
        c.fire_once(rule_key(Rule.READINESS_4H, self.s))
        self.commit(c)
        res: AgentsResult = await self.call(OrderActivities.check_agents_readiness, AgentsInput(
            "readiness", self.tenant(), [m.address for m in self.s.user_mailboxes()]))
        c = self.change()
        out.readiness_checked(c, res.status)
        self.commit(c)

    async def updating_mx(self) -> None:
        """R-CTP-S7: check MX (email if wrong) and a 10-minute timer; its tail -> S8."""
        entered = self.s.status_since or workflow.now()
        res: MxResult = await self.call(OrderActivities.check_mx, MxInput(
            Ctp.UPDATING_MX.value, self.tenant(), sorted(self.s.domains)))
        c = self.change()
        out.mx_checked(c, res.ok)
        self.commit(c)
        remaining = entered + self.t.mx_timer - workflow.now()
        if remaining > timedelta(0):
            await workflow.sleep(remaining)
        self.complete(Ctp.UPDATING_MX, res.attempts)

    async def migrate_email(self) -> None:
        """Switch emails, agents flip, final syncs queued; completion -> S9."""
        c = self.change()
        for m in c.s.user_mailboxes():
            c.notify(Template.USER_SWITCH, m.address, "switch", name=m.name)
        await self.commit_and_send(c)
        await self.call(OrderActivities.flip_agents, AgentsInput(
            Ctp.MIGRATE_EMAIL.value, self.tenant(),
            [m.address for m in self.s.user_mailboxes()]))
        c = self.change()
        out.migrate_email_queued(c)
        c.complete_ctp(Ctp.MIGRATE_EMAIL)
        self.commit(c)

    async def delete_service_accounts(self) -> None:
        res: AttemptResult = await self.call(OrderActivities.remove_service_identity, CtpInput(
            Ctp.DELETE_SERVICE_ACCOUNTS.value, self.tenant()))
        self.complete(Ctp.DELETE_SERVICE_ACCOUNTS, res.attempts)

    async def completed_steps(self) -> None:
        res: AttemptResult = await self.call(OrderActivities.finish_order, CtpInput(
            Ctp.COMPLETED_STEPS.value, self.tenant()))
        c = self.change()
        c.notify(Template.PARTNER_MIGRATION_COMPLETE, self.s.spec.partner_address, "complete",
                 mailboxes=len(self.s.active_mailboxes()))
        await self.commit_and_send(c)
        self.complete(Ctp.COMPLETED_STEPS, res.attempts)
