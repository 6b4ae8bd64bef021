"""What people do to an order (the workflow's Updates): a check, then an apply.

`check_*` raises InvalidInput naming the field and changes nothing; `apply_*` is only
called after its check passed, on the same state and instant.
"""

from __future__ import annotations

from datetime import datetime

from .lifecycle import Change, SyncCommand
from .model import Domain, Mailbox, OrderSettings, OrderSpec, OrderState, UserSpec
from .names import Ctp, CtpState, Role, Status, TaskCode
from .rules import Timings, in_lock_window
from .validation import (
    InvalidInput,
    check_address,
    check_cutover,
    check_user,
    order_domains,
)

EDITABLE = (Status.SAVED, Status.AWAITING_O365, Status.INITIATING_VANITY,
            Status.VERIFYING_VANITY, Status.CREATING_MAILBOXES, Status.WAITING_FOR_MIGRATION)


def check_role(by: str) -> Role:
    try:
        return Role(by)
    except ValueError:
        raise InvalidInput("by", f"{by!r} is not one of partner, support") from None


def _not_terminal(s: OrderState) -> None:
    if s.cancelled:
        raise InvalidInput("action", "the order is cancelled")
    if s.completed or s.status is Status.COMPLETE:
        raise InvalidInput("action", "the order is complete")


def _editable(s: OrderState, now: datetime, t: Timings, by: str, action: str) -> None:
    """Partner/support edits: statuses S1-S6; R-LOCK-4H refuses the partner from C - 4 h."""
    role = check_role(by)
    _not_terminal(s)
    if s.status not in EDITABLE:
        raise InvalidInput("action", f"{action} is not allowed in status {s.status.value!r}")
    if role is Role.PARTNER and s.placed_at and in_lock_window(s.spec.cutover, now, t):
        raise InvalidInput("action", f"{action} refused: the order is locked from 4 h before "
                                   "cutover (R-LOCK-4H); ask support")


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
def check_place(s: OrderState, now: datetime, t: Timings, by: str) -> None:
    check_role(by)
    _not_terminal(s)
    if s.status is not Status.SAVED:
        raise InvalidInput("action", f"place is not allowed in status {s.status.value!r}")
    check_cutover("cutover", s.spec.cutover, now, min_lead=t.lock_lead)
    if not s.active_mailboxes():
        raise InvalidInput("users", "an order needs at least one user or shared mailbox")


def apply_place(c: Change) -> None:
    c.s.placed_at = c.now
    c.set_status(Status.AWAITING_O365)
    c.start_ctp(Ctp.SETUP_O365)
    for ctp in (Ctp.PWD_FLAGS, Ctp.GATHER_INFO, Ctp.START_SYNCS):
        c.request(ctp)


# ---------------------------------------------------------------- change cutover
def check_change_cutover(s: OrderState, now: datetime, t: Timings, by: str,
                         cutover: datetime) -> None:
    _editable(s, now, t, by, "change_cutover")
    if s.hold is not None:
        raise InvalidInput("action", "the order is on hold: support sets the new cutover "
                                   "when releasing the hold")
    check_cutover("cutover", cutover, now, min_lead=t.lock_lead)


def apply_change_cutover(c: Change, cutover: datetime) -> None:
    c.s.spec.cutover = cutover
    c.plan_resyncs()  # R-RESYNC re-plan (only in S6)


# ------------------------------------------------------------------------ users
def check_add_user(s: OrderState, now: datetime, t: Timings, by: str, user: UserSpec) -> UserSpec:
    _editable(s, now, t, by, "add_user")
    u = check_user("user", user, order_domains(s.spec))
    for m in s.active_mailboxes():
        if m.address == u.target:
            raise InvalidInput("user.target", f"duplicate address {u.target}")
        if m.kind == "user" and m.source == u.source:
            raise InvalidInput("user.source", f"duplicate address {u.source}")
    return u


def apply_add_user(c: Change, user: UserSpec) -> None:
    m = Mailbox(address=user.target, source=user.source, name=user.name, sku=user.sku)
    if c.s.ctp_state(Ctp.PWD_FLAGS.value) == CtpState.COMPLETED:
        m.flags_set = True
        m.needs_password = not c.s.spec.source.admin_credentials
    c.s.mailboxes[m.address] = m
    # R-MBX-RERUN and friends: the CTPs that already ran pick the new user up.
    for ctp in (Ctp.GATHER_INFO, Ctp.START_SYNCS, Ctp.CREATE_MAILBOXES):
        if c.s.ctp_state(ctp.value) in (CtpState.COMPLETED, CtpState.FAILED):
            c.request(ctp)


def check_remove_user(s: OrderState, now: datetime, t: Timings, by: str, address: str) -> str:
    _editable(s, now, t, by, "remove_user")
    addr = check_address("address", address)
    m = s.mailboxes.get(addr)
    if m is None or m.removed or m.kind != "user":
        raise InvalidInput("address", f"{addr} is not a user of this order")
    return addr


def apply_remove_user(c: Change, address: str, by: str) -> None:
    m = c.s.mailboxes[address]
    m.removed = True
    if m.sync_started:
        c.sync.append(SyncCommand("remove", [address]))
    for code in (TaskCode.MAILBOX_FAILED, TaskCode.AGENT_NOT_READY, TaskCode.SYNC_FAILED):
        c.resolve_tasks(code, by, address)
    run = c.s.ctps.get(Ctp.START_SYNCS.value)
    if run and run.state is CtpState.RUNNING:
        c.start_initial_syncs()  # may complete it: the last user not started is gone


# --------------------------------------------------------------------- settings
def check_update_settings(s: OrderState, now: datetime, t: Timings, by: str,
                          settings: OrderSettings) -> None:
    _editable(s, now, t, by, "update_settings")


def apply_update_settings(c: Change, settings: OrderSettings) -> None:
    c.s.spec.settings = settings


def check_update_credentials(s: OrderState, now: datetime, t: Timings, by: str) -> None:
    check_role(by)
    _not_terminal(s)


def apply_update_credentials(c: Change, by: str) -> None:
    c.s.credentials_version += 1
    c.resolve_tasks(TaskCode.O365_CREDENTIALS_INVALID, by, any_subject=True)
    if c.s.ctp_state(Ctp.SETUP_O365.value) == CtpState.FAILED:
        c.request(Ctp.SETUP_O365)  # R-CTP-S2: rerun with the new credentials


# ------------------------------------------------------------------------- hold
def check_release_hold(s: OrderState, now: datetime, t: Timings, by: str,
                       cutover: datetime | None) -> datetime:
    if check_role(by) is not Role.SUPPORT:
        raise InvalidInput("by", "only support releases a hold")
    _not_terminal(s)
    if s.hold is None:
        raise InvalidInput("action", "the order is not on hold")
    unverified = [d.name for d in s.domains.values() if not d.verified]
    if unverified:
        raise InvalidInput("action", f"vanity domains not verified yet: {', '.join(unverified)}")
    new = cutover or s.spec.cutover
    check_cutover("cutover", new, now, min_lead=t.hold_lead)
    return new


def apply_release_hold(c: Change, cutover: datetime, by: str) -> None:
    c.release_hold(cutover, by)


# -------------------------------------------------------------------- rerun CTP
def check_rerun_ctp(s: OrderState, now: datetime, t: Timings, by: str, ctp: str) -> Ctp:
    if check_role(by) is not Role.SUPPORT:
        raise InvalidInput("by", "only support reruns a CTP")
    _not_terminal(s)
    try:
        name = Ctp(ctp)
    except ValueError:
        raise InvalidInput("ctp", f"{ctp!r} is not a CTP name") from None
    run = s.ctps.get(name.value)
    if run is None:
        raise InvalidInput("ctp", f"{name.value} has not run in this order yet")
    if run.state in (CtpState.RUNNING, CtpState.WAITING):
        raise InvalidInput("ctp", f"{name.value} is {run.state.value}")
    return name


def apply_rerun_ctp(c: Change, ctp: Ctp, by: str) -> None:
    if ctp is Ctp.CREATE_MAILBOXES:
        c.resolve_tasks(TaskCode.CREATE_MAILBOXES_FAILED, by, any_subject=True)
        for m in c.s.active_mailboxes():
            m.failed = False
    if ctp is Ctp.SETUP_O365:
        c.resolve_tasks(TaskCode.O365_CREDENTIALS_INVALID, by, any_subject=True)
    c.request(ctp)


# ----------------------------------------------------------------------- cancel
def check_cancel(s: OrderState, now: datetime, t: Timings, by: str) -> None:
    _editable(s, now, t, by, "cancel")


def apply_cancel(c: Change, by: str) -> None:
    """Cancelled (interp.): syncs stop, the service account is removed, nothing more runs."""
    c.s.cancelled = True
    if c.s.syncs_started and not c.s.syncs_settled:
        c.sync.append(SyncCommand("stop"))
    for run in c.s.ctps.values():
        if run.state is CtpState.WAITING:
            run.state = CtpState.FAILED
            run.error = "cancelled"
    if c.s.ctp_state(Ctp.SETUP_O365.value) is not None:
        c.request(Ctp.DELETE_SERVICE_ACCOUNTS)


# --------------------------------------------------------------- user readiness
def check_user_ready(s: OrderState, address: str) -> str:
    addr = check_address("address", address)
    m = s.mailboxes.get(addr)
    if m is None or m.removed:
        raise InvalidInput("address", f"{addr} is not a mailbox of this order")
    return addr


def apply_user_ready(c: Change, address: str) -> None:
    c.s.mailboxes[address].answered = True

