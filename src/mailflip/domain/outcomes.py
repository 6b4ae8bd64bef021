"""What a CTP's results mean for the order (R-CTP-S2, R-MBX-25, ...), as pure functions.

Each takes the `Change` the workflow opened when the CTP's work returned.
"""

from __future__ import annotations

from collections import Counter

from .lifecycle import Change, SyncCommand
from .model import Mailbox
from .names import SYNC_TASKS, AlertCode, Ctp, CtpState, SyncCommandKind, TaskCode, Template
from .rules import create_mailboxes_fails


def setup_done(c: Change, verified: list[str], available: dict[str, int], attempts: int) -> None:
    """R-CTP-S2: mark verified domains, check licences, move S2 -> S3."""
    for d in c.s.domains.values():
        d.added = True
        d.verified = d.verified or d.name in verified
    needed = Counter(m.sku for m in c.s.user_mailboxes() if m.sku)
    short = {sku: n - available.get(sku, 0) for sku, n in needed.items()
             if available.get(sku, 0) < n}
    if short:
        detail = ", ".join(f"{sku}: {n} missing" for sku, n in sorted(short.items()))
        c.alert(AlertCode.INSUFFICIENT_LICENSES, detail)
        c.notify(Template.PARTNER_INSUFFICIENT_LICENSES, c.s.spec.partner_address,
                 "licenses@setup", short=short)
    c.complete_ctp(Ctp.SETUP_O365, attempts)


def setup_failed(c: Change, error: str, credentials: bool) -> None:
    """Bad credentials: task o365_credentials_invalid (rerun on update_credentials)."""
    c.fail_ctp(Ctp.SETUP_O365, error, alert=not credentials)
    if credentials:
        c.open_task(TaskCode.O365_CREDENTIALS_INVALID, None, error)


def pwd_flags_done(c: Change) -> None:
    """Admin - UpdatePwdReceptionFlags: who must give their source password (interp.)."""
    for m in c.s.mailboxes.values():
        m.flags_set = True
        m.needs_password = m.kind == "user" and not c.s.spec.source.admin_credentials
    c.complete_ctp(Ctp.PWD_FLAGS)


def gather_recipients(c: Change) -> list[Mailbox]:
    return [m for m in c.s.user_mailboxes() if m.needs_password]


def ssi_candidates(c: Change) -> list[Mailbox]:
    return [m for m in c.s.user_mailboxes() if m.ready and not m.created and not m.failed]


def on_initial_domain(c: Change, m: Mailbox) -> bool:
    """SSI mailboxes go on .onmicrosoft.com while the vanity domain is unverified."""
    d = c.s.domains.get(m.address.split("@", 1)[1])
    return d is not None and not d.verified


def ssi_created(c: Change, results: dict[str, str], attempted: dict[str, bool]) -> None:
    for addr, initial in attempted.items():
        if addr not in results:
            c.s.mailboxes[addr].created = "onmicrosoft" if initial else "vanity"


def create_mailboxes_done(c: Change, failures: dict[str, str], attempted: list[str],
                          moved: list[str], attempts: int) -> None:
    """R-CTP-S5 with R-MBX-25: 25 % or more of the order's mailboxes failed to create ->
    the CTP fails and the order stays in S5 (a rerun counts the mailboxes created before)."""
    for addr in moved:
        c.s.mailboxes[addr].created = "vanity"
    for addr in attempted:
        m = c.s.mailboxes[addr]
        m.failed = addr in failures
        if not m.failed:
            m.created = "vanity"
    total = len(c.s.active_mailboxes())
    if create_mailboxes_fails(len(failures), total):
        detail = f"{len(failures)} of {total} mailboxes failed to create"
        c.fail_ctp(Ctp.CREATE_MAILBOXES, detail, attempts, alert=False)
        c.open_task(TaskCode.CREATE_MAILBOXES_FAILED, None, detail)
        return
    for addr in attempted:
        if addr in failures:
            c.open_task(TaskCode.MAILBOX_FAILED, addr, failures[addr])
    c.complete_ctp(Ctp.CREATE_MAILBOXES, attempts)


def mx_checked(c: Change, ok: dict[str, bool]) -> None:
    """R-CTP-S7: email the partner the DNS change when MX is not on Microsoft 365."""
    for d, good in ok.items():
        c.s.domains[d].mx_ok = good
    wrong = sorted(d for d, good in ok.items() if not good)
    if wrong:
        c.notify(Template.PARTNER_MX_CHANGE_NEEDED, c.s.spec.partner_address,
                 f"mx@{c.cutover.isoformat()}", domains=wrong)


def readiness_checked(c: Change, status: dict[str, str]) -> None:
    """R-READINESS-4H: a user whose agent is missing or not ready gets a task."""
    for addr, st in sorted(status.items()):
        if st != "ready":
            c.open_task(TaskCode.AGENT_NOT_READY, addr, st)


def migrate_email_queued(c: Change) -> None:
    """MigrateEmail: queue the final sync of every mailbox that has a target mailbox."""
    boxes = [m for m in c.s.active_mailboxes() if m.created]
    for m in boxes:
        m.sync_started = True
    c.sync.append(SyncCommand(SyncCommandKind.CUTOVER, [m.address for m in boxes],
                              [m.source for m in boxes]))
    if not boxes:
        c.s.syncs_settled = True
    run = c.s.ctps.get(Ctp.START_SYNCS.value)
    if run and run.state is CtpState.RUNNING:
        c.complete_ctp(Ctp.START_SYNCS)


def syncs_reported(c: Change, failed: list[list[str]], caught_up: list[list[str]],
                   settled: bool, gaps: list[list[str]] | None = None,
                   grades: dict[str, str] | None = None, shard: int = 0) -> None:
    """R-SYNC-FAILED: a failed pass opens task sync_failed and emails the partner (once
    per mailbox and pass); a later pass of that mailbox completing resolves it.
    R-RECONCILE: gaps after a mailbox's last sweep open sync_gaps, resolved the same way."""
    for mailbox, _pass in caught_up:
        m = c.s.mailboxes.get(mailbox)
        if m is not None:
            m.failed_pass = ""
        for code in SYNC_TASKS:
            c.resolve_tasks(code, "system", mailbox)
    for mailbox, detail in gaps or []:
        c.open_task(TaskCode.SYNC_GAPS, mailbox, detail)
    for mailbox, grade in (grades or {}).items():
        if mailbox in c.s.mailboxes:
            c.s.mailboxes[mailbox].grade = grade
    for mailbox, pass_name, error in failed:
        m = c.s.mailboxes.get(mailbox)
        if m is not None:
            m.failed_pass = pass_name
        c.open_task(TaskCode.SYNC_FAILED, mailbox, f"{pass_name}: {error}")
        c.notify(Template.PARTNER_SYNC_FAILED, c.s.spec.partner_address,
                 f"sync_failed@{mailbox}/{pass_name}", mailbox=mailbox, pass_name=pass_name,
                 error=error)
    shards = set(c.s.settled_shards) - {shard} | ({shard} if settled else set())
    c.s.settled_shards = sorted(shards)
    c.s.syncs_settled = len(shards) >= max(1, c.s.syncs_shards)  # every shard has settled


def workflow_task_failing(c: Change, detail: str) -> None:
    """The watchdog saw a workflow task of this order fail again and again: an alert for
    support, once per workflow run (the store may already show it: same code and detail)."""
    code = AlertCode.WORKFLOW_TASK_FAILING
    if not any(a.code == code.value and a.detail == detail for a in c.s.alerts):
        c.alert(code, detail)
