"""State changes of an order, as plain functions over OrderState.

`Change` wraps one state change at one instant and collects what it produced:
timeline events, notifications to send and commands for the syncs workflow.
The workflow performs those; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import Alert, CtpRun, Hold, OrderState, Resync, Task
from .names import (
    ADVANCES,
    ALERT_SEVERITY,
    HOLD_VANITY_UNVERIFIED,
    POST_CREATE_CTPS,
    AlertCode,
    Ctp,
    CtpState,
    ResyncState,
    Status,
    SyncCommandKind,
    TaskCode,
    TaskState,
    Template,
)
from .rules import Timings, resync_times

# A CTP waits until these have completed (SPEC.md "CTPs").
DEPENDS_ON: dict[Ctp, tuple[Ctp, ...]] = {
    Ctp.PWD_FLAGS: (Ctp.SETUP_O365,),
    Ctp.GATHER_INFO: (Ctp.PWD_FLAGS,),
    Ctp.START_SYNCS: (Ctp.PWD_FLAGS,),
    Ctp.INITIATING_VANITY: (Ctp.PWD_FLAGS,),
    Ctp.VERIFY_VANITY: (Ctp.INITIATING_VANITY,),
    Ctp.CREATE_MAILBOXES: (Ctp.VERIFY_VANITY,),
    **{c: (Ctp.CREATE_MAILBOXES,) for c in POST_CREATE_CTPS},
    Ctp.MIGRATION_SUCCESS_EMAILS: (Ctp.MIGRATE_EMAIL,),
}


@dataclass
class Notification:
    template: str
    to: str
    trigger: str
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.template}|{self.to}|{self.trigger}"


@dataclass
class SyncCommand:
    kind: SyncCommandKind
    mailboxes: list[str] = field(default_factory=list)  # target addresses
    sources: list[str] = field(default_factory=list)  # parallel to mailboxes
    pass_name: str = ""  # rerun: which pass


class Change:
    """One state change at `now`; collects its events, notifications and sync commands."""

    def __init__(self, state: OrderState, now: datetime, timings: Timings | None = None):
        self.s = state
        self.now = now
        self.t = timings or Timings()
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.outbox: list[Notification] = []
        self.sync: list[SyncCommand] = []

    # ----------------------------------------------------------------- primitives
    def emit(self, kind: str, **data: Any) -> None:
        self.events.append((kind, data))

    def set_status(self, status: Status) -> None:
        self.s.status = status
        self.s.status_since = self.now
        self.emit("status", status=status.value)

    def notify(self, template: Template, to: str, trigger: str, **context: Any) -> None:
        """Each notification at most once per order, recipient and trigger."""
        n = Notification(template.value, to, trigger, context)
        if self.s.was_sent(n.key):
            return
        self.s.mark_sent(n.key)
        self.outbox.append(n)

    def open_task(self, code: TaskCode, subject: str | None, detail: str = "") -> None:
        if any(t.code == code.value and t.subject == subject for t in self.s.open_tasks()):
            return
        self.s.tasks.append(Task(id=len(self.s.tasks) + 1, code=code.value, subject=subject,
                                 opened_at=self.now, detail=detail))
        self.emit("task", code=code.value, subject=subject, state=TaskState.OPEN.value)

    def resolve_tasks(self, code: TaskCode, by: str, subject: str | None = None,
                      any_subject: bool = False, reason: str = "") -> None:
        for t in self.s.open_tasks(code.value):
            if any_subject or t.subject == subject:
                t.state, t.resolved_at, t.resolved_by = TaskState.RESOLVED, self.now, by
                t.reason = reason
                self.emit("task", code=t.code, subject=t.subject, state=t.state.value,
                          by=by, **({"reason": reason} if reason else {}))

    def alert(self, code: AlertCode, detail: str = "") -> None:
        severity = ALERT_SEVERITY[code]
        self.s.alerts.append(Alert(code=code.value, severity=severity, at=self.now,
                                   detail=detail))
        self.emit("alert", code=code.value, severity=severity, detail=detail)

    def fire_once(self, key: str) -> bool:
        """True the first time `key` fires for this order."""
        if key in self.s.fired:
            return False
        self.s.fired.append(key)
        return True

    # ----------------------------------------------------------------------- CTPs
    def deps_met(self, ctp: Ctp) -> bool:
        return all(self.s.ctp_state(d.value) == CtpState.COMPLETED
                   for d in DEPENDS_ON.get(ctp, ()))

    def request(self, ctp: Ctp, *, gated: bool = False) -> None:
        """Create (or re-arm) a CTP run; it shows `waiting` only when it must wait."""
        run = self.s.ctps.get(ctp.value)
        if run and run.state in (CtpState.RUNNING, CtpState.WAITING):
            return
        if run is None:
            run = self.s.ctps[ctp.value] = CtpRun(ctp.value, CtpState.WAITING)
        run.state, run.error = CtpState.WAITING, None
        if gated or not self.deps_met(ctp):
            self.emit("ctp", ctp=ctp.value, state=CtpState.WAITING.value)

    def start_ctp(self, ctp: Ctp) -> None:
        run = self.s.ctps.setdefault(ctp.value, CtpRun(ctp.value, CtpState.WAITING))
        run.state, run.error = CtpState.RUNNING, None
        run.runs += 1
        run.started_at, run.ended_at = self.now, None
        self.emit("ctp", ctp=ctp.value, state=CtpState.RUNNING.value)

    def fail_ctp(self, ctp: Ctp, error: str, attempts: int = 0, *, alert: bool = True) -> None:
        run = self.s.ctps[ctp.value]
        run.state, run.error, run.ended_at = CtpState.FAILED, error, self.now
        run.attempts += attempts
        self.emit("ctp", ctp=ctp.value, state=CtpState.FAILED.value, error=error)
        if alert:
            self.alert(AlertCode.CTP_FAILED, f"{ctp.value}: {error}")

    def complete_ctp(self, ctp: Ctp, attempts: int = 0) -> None:
        run = self.s.ctps[ctp.value]
        run.state, run.ended_at = CtpState.COMPLETED, self.now
        run.attempts += attempts
        self.emit("ctp", ctp=ctp.value, state=CtpState.COMPLETED.value)
        self._after_completed(ctp)
        step = ADVANCES.get(ctp)
        if step and self.s.status == step[0] and not self.s.cancelled:
            self.enter(step[1])

    def _after_completed(self, ctp: Ctp) -> None:
        if ctp is Ctp.PWD_FLAGS:
            for c in (Ctp.GATHER_INFO, Ctp.START_SYNCS, Ctp.INITIATING_VANITY):
                self.request(c)
        elif ctp is Ctp.INITIATING_VANITY:
            self.request(Ctp.VERIFY_VANITY)
        elif ctp is Ctp.VERIFY_VANITY:
            self.request(Ctp.CREATE_MAILBOXES)
        elif ctp is Ctp.CREATE_MAILBOXES:
            for c in POST_CREATE_CTPS:
                self.request(c)
        elif ctp in (Ctp.DELETE_SERVICE_ACCOUNTS, Ctp.COMPLETED_STEPS):
            done = (Ctp.DELETE_SERVICE_ACCOUNTS, Ctp.COMPLETED_STEPS)
            if self.s.cancelled or all(
                self.s.ctp_state(c.value) == CtpState.COMPLETED for c in done
            ):
                self.s.completed = not self.s.cancelled
                if self.s.completed and self.s.syncs_started:
                    self.sync.append(SyncCommand(SyncCommandKind.STOP))  # its work is over

    # ------------------------------------------------------------------- statuses
    def enter(self, status: Status) -> None:
        """Enter the next status and create its CTPs (forward only, one step)."""
        assert status.number == self.s.status.number + 1, (self.s.status, status)
        self.set_status(status)
        if status is Status.WAITING_FOR_MIGRATION:
            self.start_ctp(Ctp.WAIT_FOR_DATE)
            self.request(Ctp.PREPARE_EMAILS, gated=self.now < self.prepare_at())
            self.plan_resyncs()
        elif status is Status.UPDATING_MX:
            self.request(Ctp.UPDATING_MX)
        elif status is Status.MIGRATING:
            self.request(Ctp.MIGRATE_EMAIL)
            self.request(Ctp.MIGRATION_SUCCESS_EMAILS)
        elif status is Status.COMPLETE:
            self.request(Ctp.DELETE_SERVICE_ACCOUNTS)
            self.request(Ctp.COMPLETED_STEPS)

    @property
    def cutover(self) -> datetime:
        return self.s.spec.cutover

    def prepare_at(self) -> datetime:
        return self.cutover - self.t.prepare_emails_lead

    # -------------------------------------------------------------------- resyncs
    def plan_resyncs(self) -> None:
        """R-RESYNC: cancel planned resyncs not yet run, keep those run, plan anew."""
        self._cancel_planned_resyncs()
        if self.s.hold is None and self.s.status is Status.WAITING_FOR_MIGRATION:
            self.s.resyncs.extend(
                Resync(at) for at in resync_times(self.cutover, self.now, self.t.resync_scale)
                if at > self.now)

    def _cancel_planned_resyncs(self) -> None:
        for r in self.s.resyncs:
            if r.state is ResyncState.PLANNED:
                r.state = ResyncState.CANCELLED

    # ----------------------------------------------------------------------- hold
    def put_on_hold(self, unverified: list[str]) -> None:
        """R-HOLD-48: hold, email the partner, task per domain, alert support."""
        self.s.hold = Hold(reason=HOLD_VANITY_UNVERIFIED, since=self.now)
        self.emit("hold", on=True, reason=HOLD_VANITY_UNVERIFIED)
        self._cancel_planned_resyncs()
        for d in unverified:
            self.open_task(TaskCode.DOMAIN_NOT_VERIFIED, d)
        self.alert(AlertCode.ORDER_ON_HOLD, f"vanity domains not verified: {', '.join(unverified)}")
        self.notify(Template.PARTNER_DOMAIN_UNVERIFIED_HOLD, self.s.spec.partner_address,
                    f"hold@{self.cutover.isoformat()}", domains=unverified)

    def release_hold(self, cutover: datetime, by: str) -> None:
        reason = self.s.hold.reason if self.s.hold else ""
        self.s.hold = None
        self.s.spec.cutover = cutover
        self.emit("hold", on=False, reason=reason, by=by)
        self.resolve_tasks(TaskCode.DOMAIN_NOT_VERIFIED, by, any_subject=True)
        self.plan_resyncs()

    # -------------------------------------------------------------------- syncs
    def start_initial_syncs(self) -> None:
        """StartSyncsForReadyMailboxes: every ready mailbox with a target mailbox."""
        due = [m for m in self.s.active_mailboxes()
               if m.ready and m.created and not m.sync_started]
        if due:
            for m in due:
                m.sync_started = True
            self.sync.append(SyncCommand(SyncCommandKind.INITIAL, [m.address for m in due],
                                         [m.source for m in due]))
        run = self.s.ctps.get(Ctp.START_SYNCS.value)
        if run and run.state is CtpState.RUNNING and all(
            m.sync_started or m.failed for m in self.s.active_mailboxes()
        ):
            self.complete_ctp(Ctp.START_SYNCS)
