"""What people do to an order (the workflow's Updates): a check, then a command.

`check_*(state, now, timings, ...)` raises InvalidInput naming the field and changes
nothing, or returns a typed command holding the normalised input; `command.apply(c)`
performs it on a Change, on the same state and instant as the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .errors import InvalidInput
from .lifecycle import Change, SyncCommand
from .model import Domain, Mailbox, OrderSettings, OrderSpec, OrderState, UserSpec
from .names import (
    SYNC_TASKS,
    Ctp,
    CtpState,
    Role,
    Status,
    SyncCommandKind,
    SyncPass,
    TaskCode,
)
from .rules import Timings, in_lock_window
from .syncs import shard_of
from .validation import (
    check_address,
    check_cutover,
    check_user,
    order_domains,
)


class Command(Protocol):
    def apply(self, c: Change) -> None: ...


EDITABLE = (Status.SAVED, Status.AWAITING_O365, Status.INITIATING_VANITY,
            Status.VERIFYING_VANITY, Status.CREATING_MAILBOXES, Status.WAITING_FOR_MIGRATION)


def check_role(by: str) -> Role:
    try:
        return Role(by)
    except ValueError:
        raise InvalidInput("by", f"{by!r} is not one of partner, support") from None


def _support_only(s: OrderState, by: str, what: str) -> Role:
    """Actions only support takes (`what`, e.g. "reruns a CTP"), on a live order."""
    if check_role(by) is not Role.SUPPORT:
        raise InvalidInput("by", f"only support {what}")
    _not_terminal(s)
    return Role.SUPPORT


def _not_terminal(s: OrderState) -> None:
    if s.cancelled:
        raise InvalidInput("action", "the order is cancelled")
    if s.completed or s.status is Status.COMPLETE:
        raise InvalidInput("action", "the order is complete")


def _editable(s: OrderState, now: datetime, t: Timings, by: str, action: str) -> Role:
    """Partner/support edits: statuses S1-S6; R-LOCK-4H refuses the partner from C - 4 h."""
    role = check_role(by)
    _not_terminal(s)
    if s.status not in EDITABLE:
        raise InvalidInput("action", f"{action} is not allowed in status {s.status.value!r}")
    if role is Role.PARTNER and s.placed_at and in_lock_window(s.spec.cutover, now, t):
        raise InvalidInput("action", f"{action} refused: the order is locked from 4 h before "
                                   "cutover (R-LOCK-4H); ask support")
    return role


def new_mailboxes(users: list[UserSpec], shared: list[tuple[str, str]]) -> list[Mailbox]:
    boxes = [Mailbox(address=u.target, source=u.source, name=u.name, sku=u.sku) for u in users]
    boxes += [Mailbox(address=a, source=a, name=n, kind="shared") for n, a in shared]
    return boxes


def init_state(order_id: str, spec: OrderSpec, now: datetime) -> OrderState:
    """A new order in Saved in Website; the spec must already be checked."""
    state = OrderState(order_id=order_id, spec=spec, created_at=now, status_since=now)
    for m in new_mailboxes(spec.users, [(s.name, s.address) for s in spec.shared_mailboxes]):
        state.mailboxes[m.address] = m
    spec.users = []  # the mailboxes are the one list of users from now on
    for d in spec.vanity_domains:
        state.domains[d] = Domain(d)
    return state


# ------------------------------------------------------------------------ place
@dataclass(frozen=True)
class Place:
    by: Role

    def apply(self, c: Change) -> None:
        c.s.placed_at = c.now
        c.set_status(Status.AWAITING_O365)
        c.start_ctp(Ctp.SETUP_O365)
        for ctp in (Ctp.PWD_FLAGS, Ctp.GATHER_INFO, Ctp.START_SYNCS):
            c.request(ctp)


def check_place(s: OrderState, now: datetime, t: Timings, by: str) -> Place:
    role = check_role(by)
    _not_terminal(s)
    if s.status is not Status.SAVED:
        raise InvalidInput("action", f"place is not allowed in status {s.status.value!r}")
    check_cutover("cutover", s.spec.cutover, now, min_lead=t.lock_lead)
    if not s.active_mailboxes():
        raise InvalidInput("users", "an order needs at least one user or shared mailbox")
    return Place(role)


# ---------------------------------------------------------------- change cutover
@dataclass(frozen=True)
class ChangeCutover:
    cutover: datetime

    def apply(self, c: Change) -> None:
        c.s.spec.cutover = self.cutover
        c.plan_resyncs()  # R-RESYNC re-plan (only in S6)


def check_change_cutover(s: OrderState, now: datetime, t: Timings, by: str,
                         cutover: datetime) -> ChangeCutover:
    _editable(s, now, t, by, "change_cutover")
    if s.hold is not None:
        raise InvalidInput("action", "the order is on hold: support sets the new cutover "
                                   "when releasing the hold")
    check_cutover("cutover", cutover, now, min_lead=t.lock_lead)
    return ChangeCutover(cutover)


# ------------------------------------------------------------------------ users
@dataclass(frozen=True)
class AddUser:
    user: UserSpec

    def apply(self, c: Change) -> None:
        u = self.user
        m = Mailbox(address=u.target, source=u.source, name=u.name, sku=u.sku)
        if c.s.ctp_state(Ctp.PWD_FLAGS.value) == CtpState.COMPLETED:
            m.flags_set = True
            m.needs_password = not c.s.spec.source.admin_credentials
        c.s.mailboxes[m.address] = m
        # R-MBX-RERUN and friends: the CTPs that already ran pick the new user up.
        for ctp in (Ctp.GATHER_INFO, Ctp.START_SYNCS, Ctp.CREATE_MAILBOXES):
            if c.s.ctp_state(ctp.value) in (CtpState.COMPLETED, CtpState.FAILED):
                c.request(ctp)


def check_add_user(s: OrderState, now: datetime, t: Timings, by: str, user: UserSpec) -> AddUser:
    _editable(s, now, t, by, "add_user")
    u = check_user("user", user, order_domains(s.spec))
    for m in s.active_mailboxes():
        if m.address == u.target:
            raise InvalidInput("user.target", f"duplicate address {u.target}")
        if m.kind == "user" and m.source == u.source:
            raise InvalidInput("user.source", f"duplicate address {u.source}")
    return AddUser(u)


@dataclass(frozen=True)
class RemoveUser:
    address: str
    by: Role

    def apply(self, c: Change) -> None:
        m = c.s.mailboxes[self.address]
        m.removed = True
        if m.sync_started:
            c.sync.append(SyncCommand(SyncCommandKind.REMOVE, [self.address]))
        for code in (TaskCode.MAILBOX_FAILED, TaskCode.AGENT_NOT_READY, TaskCode.SYNC_FAILED):
            c.resolve_tasks(code, self.by, self.address)
        run = c.s.ctps.get(Ctp.START_SYNCS.value)
        if run and run.state is CtpState.RUNNING:
            c.start_initial_syncs()  # may complete it: the last user not started is gone


def check_remove_user(s: OrderState, now: datetime, t: Timings, by: str,
                      address: str) -> RemoveUser:
    role = _editable(s, now, t, by, "remove_user")
    addr = check_address("address", address)
    m = s.mailboxes.get(addr)
    if m is None or m.removed or m.kind != "user":
        raise InvalidInput("address", f"{addr} is not a user of this order")
    return RemoveUser(addr, role)


# --------------------------------------------------------------------- settings
@dataclass(frozen=True)
class UpdateSettings:
    settings: OrderSettings

    def apply(self, c: Change) -> None:
        c.s.spec.settings = self.settings


def check_update_settings(s: OrderState, now: datetime, t: Timings, by: str,
                          settings: OrderSettings) -> UpdateSettings:
    _editable(s, now, t, by, "update_settings")
    return UpdateSettings(settings)


@dataclass(frozen=True)
class UpdateCredentials:
    by: Role

    def apply(self, c: Change) -> None:
        c.s.credentials_version += 1
        c.resolve_tasks(TaskCode.O365_CREDENTIALS_INVALID, self.by, any_subject=True)
        if c.s.ctp_state(Ctp.SETUP_O365.value) == CtpState.FAILED:
            c.request(Ctp.SETUP_O365)  # R-CTP-S2: rerun with the new credentials


def check_update_credentials(s: OrderState, now: datetime, t: Timings,
                             by: str) -> UpdateCredentials:
    role = check_role(by)
    _not_terminal(s)
    return UpdateCredentials(role)


# ------------------------------------------------------------------------- hold
@dataclass(frozen=True)
class ReleaseHold:
    cutover: datetime
    by: Role

    def apply(self, c: Change) -> None:
        c.release_hold(self.cutover, self.by)


def check_release_hold(s: OrderState, now: datetime, t: Timings, by: str,
                       cutover: datetime | None) -> ReleaseHold:
    role = _support_only(s, by, "releases a hold")
    if s.hold is None:
        raise InvalidInput("action", "the order is not on hold")
    unverified = [d.name for d in s.domains.values() if not d.verified]
    if unverified:
        raise InvalidInput("action", f"vanity domains not verified yet: {', '.join(unverified)}")
    new = cutover or s.spec.cutover
    check_cutover("cutover", new, now, min_lead=t.hold_lead)
    return ReleaseHold(new, role)


# -------------------------------------------------------------------- rerun CTP
@dataclass(frozen=True)
class RerunCtp:
    ctp: Ctp
    by: Role

    def apply(self, c: Change) -> None:
        if self.ctp is Ctp.CREATE_MAILBOXES:
            c.resolve_tasks(TaskCode.CREATE_MAILBOXES_FAILED, self.by, any_subject=True)
            for m in c.s.active_mailboxes():
                m.failed = False
        if self.ctp is Ctp.SETUP_O365:
            c.resolve_tasks(TaskCode.O365_CREDENTIALS_INVALID, self.by, any_subject=True)
        c.request(self.ctp)


def check_rerun_ctp(s: OrderState, now: datetime, t: Timings, by: str, ctp: str) -> RerunCtp:
    role = _support_only(s, by, "reruns a CTP")
    try:
        name = Ctp(ctp)
    except ValueError:
        raise InvalidInput("ctp", f"{ctp!r} is not a CTP name") from None
    run = s.ctps.get(name.value)
    if run is None:
        raise InvalidInput("ctp", f"{name.value} has not run in this order yet")
    if run.state in (CtpState.RUNNING, CtpState.WAITING):
        raise InvalidInput("ctp", f"{name.value} is {run.state.value}")
    return RerunCtp(name, role)


# ----------------------------------------------------------------------- cancel
@dataclass(frozen=True)
class Cancel:
    """Cancelled (interp.): syncs stop, the service account is removed, nothing more runs
    (the workflow also cancels the work it has in flight)."""

    by: Role

    def apply(self, c: Change) -> None:
        c.s.cancelled = True
        if c.s.syncs_started and not c.s.syncs_settled:
            c.sync.append(SyncCommand(SyncCommandKind.STOP))
        for run in c.s.ctps.values():
            if run.state is CtpState.WAITING:
                run.state = CtpState.FAILED
                run.error = "cancelled"
        if c.s.ctp_state(Ctp.SETUP_O365.value) is not None:
            c.request(Ctp.DELETE_SERVICE_ACCOUNTS)


def check_cancel(s: OrderState, now: datetime, t: Timings, by: str) -> Cancel:
    return Cancel(_editable(s, now, t, by, "cancel"))


# --------------------------------------------------------------- user readiness
@dataclass(frozen=True)
class UsersReady:
    addresses: tuple[str, ...]

    def apply(self, c: Change) -> None:
        for address in self.addresses:
            c.s.mailboxes[address].answered = True


def check_users_ready(s: OrderState, now: datetime, t: Timings,
                      addresses: list[str]) -> UsersReady:
    """Users gave their password or confirmed (the gather-info link, the simulator)."""
    out = []
    for address in addresses:
        addr = check_address("address", address)
        m = s.mailboxes.get(addr)
        if m is None or m.removed:
            raise InvalidInput("address", f"{addr} is not a mailbox of this order")
        out.append(addr)
    return UsersReady(tuple(out))


# -------------------------------------------------------------------- rerun sync
@dataclass(frozen=True)
class RerunSync:
    mailbox: str
    source: str
    pass_name: SyncPass
    by: Role

    def apply(self, c: Change) -> None:
        c.s.syncs_settled = False  # a pass is pending again (in the mailbox's shard)
        shard = shard_of(self.mailbox, max(1, c.s.syncs_shards))
        c.s.settled_shards = [k for k in c.s.settled_shards if k != shard]
        for code in SYNC_TASKS:
            c.resolve_tasks(code, self.by, self.mailbox,
                            reason=f"{self.pass_name.value} pass rerun")
        c.sync.append(SyncCommand(SyncCommandKind.RERUN, [self.mailbox], [self.source],
                                  self.pass_name))


def check_rerun_sync(s: OrderState, now: datetime, t: Timings, by: str, mailbox: str,
                     pass_name: str | None) -> RerunSync:
    """R-SYNC-FAILED: support runs a mailbox's pass again now (default: its last failed)."""
    role = _support_only(s, by, "reruns a sync pass")
    addr = check_address("mailbox", mailbox)
    m = s.mailboxes.get(addr)
    if m is None or m.removed:
        raise InvalidInput("mailbox", f"{addr} is not a mailbox of this order")
    if not m.sync_started:
        raise InvalidInput("mailbox", f"{addr} has no sync passes yet")
    name = pass_name or m.failed_pass
    if not name:
        raise InvalidInput("pass", f"no failed pass of {addr} to rerun: name the pass")
    try:
        chosen = SyncPass(name)
    except ValueError:
        raise InvalidInput("pass", f"{name!r} is not one of "
                                   f"{', '.join(p.value for p in SyncPass)}") from None
    return RerunSync(addr, m.source, chosen, role)


# ------------------------------------------------------------------ resolve task
@dataclass(frozen=True)
class ResolveTask:
    code: TaskCode
    subject: str | None
    reason: str
    by: Role

    def apply(self, c: Change) -> None:
        c.resolve_tasks(self.code, self.by, self.subject, reason=self.reason)


def check_resolve_task(s: OrderState, now: datetime, t: Timings, by: str, code: str,
                       subject: str | None, reason: str) -> ResolveTask:
    """Support closes open tasks by hand (e.g. accepting a mailbox's loss), with a reason."""
    role = _support_only(s, by, "resolves a task")
    try:
        task_code = TaskCode(code)
    except ValueError:
        raise InvalidInput("code", f"{code!r} is not a task code") from None
    subj = subject.strip().lower() if subject else None
    if not any(x.subject == subj for x in s.open_tasks(task_code.value)):
        raise InvalidInput("subject", f"no open {task_code.value} task for {subj}")
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("reason", "say why the task is resolved (it is kept in the timeline)")
    return ResolveTask(task_code, subj, text, role)
