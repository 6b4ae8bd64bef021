"""The planner: given an order and `now`, what is due and when to look again.

`due()` lists work items; `next_wake()` gives the next instant something becomes due
by time alone. Items are small frozen values (hashable: the workflow keeps the set of
those in flight): `RunCtp`, `SsiCreate` and `CheckReadiness` need I/O and are run by
the workflow; the others are pure (`is_pure`) and applied here by `apply()`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from .lifecycle import Change, SyncCommand
from .model import OrderState
from .names import AlertCode, Ctp, CtpState, ResyncState, Rule, Status, SyncCommandKind, Template
from .rules import Timings


@dataclass(frozen=True)
class RunCtp:
    """Run that CTP's body (the workflow does the I/O)."""

    ctp: Ctp


@dataclass(frozen=True)
class SsiCreate:
    """SSI: create target mailboxes for users who became ready early."""


@dataclass(frozen=True)
class CheckReadiness:
    """R-READINESS-4H: the agents' readiness checks (I/O)."""


@dataclass(frozen=True)
class StartSyncs:
    """StartSyncsForReadyMailboxes: initial passes for ready mailboxes."""


@dataclass(frozen=True)
class Cutover:
    """Wait for Migration Date ends: S6 -> S7."""


@dataclass(frozen=True)
class FireRule:
    """A rule due by time: R-HOLD-48, R-MX-STUCK, R-POC-DONE, R-COMPLETE-5D."""

    rule: Rule


@dataclass(frozen=True)
class StartResync:
    """R-RESYNC: the resync planned at `at`."""

    at: datetime


Item = RunCtp | SsiCreate | CheckReadiness | StartSyncs | Cutover | FireRule | StartResync
PURE_ITEMS = (StartSyncs, Cutover, FireRule, StartResync)


BEFORE_CUTOVER = (Status.AWAITING_O365, Status.INITIATING_VANITY, Status.VERIFYING_VANITY,
                  Status.CREATING_MAILBOXES, Status.WAITING_FOR_MIGRATION)

# CTPs with no body of their own: their state follows time (handled by pure items).
TIMER_CTPS = (Ctp.WAIT_FOR_DATE, Ctp.START_SYNCS)


def rule_key(rule: Rule, s: OrderState) -> str:
    """One-shot rules tied to a cutover fire again for a new cutover."""
    return f"{rule.value}@{s.spec.cutover.isoformat()}"


def due(s: OrderState, now: datetime, t: Timings, inflight: Collection[Item] = ()
        ) -> list[Item]:
    """What is due now, less what the workflow has in flight."""
    return [i for i in _candidates(s, now, t) if i not in inflight]


def _candidates(s: OrderState, now: datetime, t: Timings) -> list[Item]:
    if s.completed:
        return []
    c = Change(s, now, t)
    out: list[Item] = []
    for name, run in s.ctps.items():
        ctp = Ctp(name)
        if ctp in TIMER_CTPS:
            continue
        if s.cancelled and ctp is not Ctp.DELETE_SERVICE_ACCOUNTS:
            continue
        if run.state is CtpState.RUNNING or (
            run.state is CtpState.WAITING and c.deps_met(ctp) and _gate_open(s, ctp, now, t)
        ):
            out.append(RunCtp(ctp))
    if s.cancelled or s.placed_at is None:
        return out
    cut = s.spec.cutover
    if s.ctp_state(Ctp.START_SYNCS.value) == CtpState.WAITING and c.deps_met(Ctp.START_SYNCS):
        out.append(StartSyncs())
    elif s.ctp_state(Ctp.START_SYNCS.value) == CtpState.RUNNING and any(
        m.ready and m.created and not m.sync_started for m in s.active_mailboxes()
    ):
        out.append(StartSyncs())
    if _ssi_due(s):
        out.append(SsiCreate())
    if (s.ctp_state(Ctp.WAIT_FOR_DATE.value) == CtpState.RUNNING and now >= cut
            and s.hold is None and s.status is Status.WAITING_FOR_MIGRATION):
        out.append(Cutover())
    if (s.status in BEFORE_CUTOVER and s.hold is None and now >= cut - t.hold_lead
            and rule_key(Rule.HOLD_48, s) not in s.fired
            and s.ctp_state(Ctp.SETUP_O365.value) != CtpState.RUNNING  # it checks domains
            and any(not d.verified for d in s.domains.values())):
        out.append(FireRule(Rule.HOLD_48))
    if (s.status in BEFORE_CUTOVER and s.hold is None and now >= cut - t.readiness_lead
            and rule_key(Rule.READINESS_4H, s) not in s.fired):
        out.append(CheckReadiness())
    if (s.status is Status.UPDATING_MX and now >= cut + t.mx_stuck_after
            and rule_key(Rule.MX_STUCK, s) not in s.fired):
        out.append(FireRule(Rule.MX_STUCK))
    if s.hold is None:
        for r in s.resyncs:
            if r.state is ResyncState.PLANNED and now >= r.at:
                out.append(StartResync(r.at))
    done = syncs_done(s)
    if done and s.status in (Status.SWEEPING, Status.COMPLETE) \
            and Rule.POC_DONE.value not in s.fired:
        out.append(FireRule(Rule.POC_DONE))
    if s.status is Status.SWEEPING and now >= cut + t.complete_after and (
            done or rule_key(Rule.COMPLETE_5D, s) not in s.fired):
        out.append(FireRule(Rule.COMPLETE_5D))  # completes, or raises completion_blocked
    return out


def syncs_done(s: OrderState) -> bool:
    """R-POC-DONE / R-COMPLETE-5D: no pass running or pending and no open sync_failed or
    sync_gaps task (completion removes access: mail not copied by then is lost)."""
    return s.syncs_settled and not s.sync_task_subjects()


def _gate_open(s: OrderState, ctp: Ctp, now: datetime, t: Timings) -> bool:
    if ctp is Ctp.PREPARE_EMAILS:
        return s.hold is None and now >= s.spec.cutover - t.prepare_emails_lead
    return True


def _ssi_due(s: OrderState) -> bool:
    """SSI: a user who becomes ready before Create Mailboxes gets a mailbox at once."""
    if not s.spec.settings.ssi or s.ctp_state(Ctp.INITIATING_VANITY.value) is None:
        return False
    if s.ctps.get(Ctp.CREATE_MAILBOXES.value) and s.ctps[Ctp.CREATE_MAILBOXES.value].runs:
        return False
    return any(m.ready and not m.created and not m.failed and m.kind == "user"
               for m in s.active_mailboxes())


def next_wake(s: OrderState, now: datetime, t: Timings) -> datetime | None:
    """The earliest future instant at which `due()` may change by time alone."""
    if s.terminal or s.placed_at is None:
        return None
    cut = s.spec.cutover
    instants: list[datetime] = []
    if s.status in BEFORE_CUTOVER and s.hold is None:
        instants += [cut - t.hold_lead, cut - t.readiness_lead, cut]
        if s.ctp_state(Ctp.PREPARE_EMAILS.value) == CtpState.WAITING:
            instants.append(cut - t.prepare_emails_lead)
        instants += [r.at for r in s.resyncs if r.state is ResyncState.PLANNED]
    if s.status is Status.UPDATING_MX:
        instants.append(cut + t.mx_stuck_after)
    if s.status is Status.SWEEPING:
        instants.append(cut + t.complete_after)
    future = [i for i in instants if i > now]
    return min(future) if future else None


# ----------------------------------------------------------------- pure items
def is_pure(item: Item) -> bool:
    return isinstance(item, PURE_ITEMS)


def apply(item: Item, s: OrderState, now: datetime, t: Timings) -> Change:
    """Apply a planner item that needs no I/O; returns what it produced."""
    c = Change(s, now, t)
    if isinstance(item, StartSyncs):
        if s.ctp_state(Ctp.START_SYNCS.value) == CtpState.WAITING:
            c.start_ctp(Ctp.START_SYNCS)
        c.start_initial_syncs()
    elif isinstance(item, Cutover):
        c.complete_ctp(Ctp.WAIT_FOR_DATE)  # S6 -> S7
    elif isinstance(item, StartResync):
        for r in s.resyncs:
            if r.state is ResyncState.PLANNED and r.at == item.at:
                r.state = ResyncState.STARTED
        c.sync.append(SyncCommand(SyncCommandKind.RESYNC))
    elif isinstance(item, FireRule):
        _fire(item.rule, c)
    else:
        raise ValueError(f"not a pure planner item: {item}")
    return c


def _fire(rule: Rule, c: Change) -> None:
    s = c.s
    if rule is Rule.HOLD_48:
        c.fire_once(rule_key(rule, s))
        c.put_on_hold(sorted(d.name for d in s.domains.values() if not d.verified))
    elif rule is Rule.MX_STUCK:
        c.fire_once(rule_key(rule, s))
        c.alert(AlertCode.MX_STUCK, "order still in Updating MX Record 15 minutes after "
                                    "cutover: research immediately")
    elif rule is Rule.POC_DONE:
        c.fire_once(rule.value)
        # each mailbox's reconciliation is attached from the store when the email goes
        # out (as for partner_migration_complete): here only the count per grade, so
        # that 10,000 mailboxes' grades do not cross workflow history again
        c.notify(Template.POC_ALL_SYNCS_DONE, s.spec.poc.email, "all_syncs_done",
                 grades=dict(sorted(Counter(m.grade for m in s.active_mailboxes()
                                            if m.grade).items())))
    elif rule is Rule.COMPLETE_5D:
        if syncs_done(s):
            c.enter(Status.COMPLETE)
        elif c.fire_once(rule_key(rule, s)):
            held = s.sync_task_subjects()
            why = [f"open sync tasks for {', '.join(held)}"] if held else []
            if not s.syncs_settled:
                why.append("sync passes still running or pending")
            c.alert(AlertCode.COMPLETION_BLOCKED, "cutover + 5 days, not completing: "
                    + "; ".join(why))
    else:
        raise ValueError(f"{rule.value} is not fired by time alone")
