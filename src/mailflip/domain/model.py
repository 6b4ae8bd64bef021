"""The order: what the partner asked for (OrderSpec) and where it stands (OrderState).

Plain dataclasses so that they cross Temporal, the store and the simulator as they are.
All instants are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .names import SYNC_TASKS, CtpState, ResyncState, Status, TaskState


@dataclass
class Poc:
    name: str
    email: str


@dataclass
class SourceHost:
    kind: str = "imap"
    host: str = ""
    port: int | None = None
    security: str = "tls"
    admin_credentials: bool = False


@dataclass
class UserSpec:
    name: str
    source: str
    target: str
    sku: str
    aliases: list[str] = field(default_factory=list)


@dataclass
class SharedMailboxSpec:
    name: str
    address: str


@dataclass
class DistributionGroupSpec:
    address: str
    members: list[str] = field(default_factory=list)


@dataclass
class PermissionSpec:
    mailbox: str
    grantee: str
    right: str = "FullAccess"  # FullAccess | SendAs


@dataclass
class OrderSettings:
    ssi: bool = False
    rules_and_connectors: bool = False
    report_subjects: bool = False  # subjects of missing / skipped messages in reports


@dataclass
class OrderSpec:
    partner: str
    customer: str
    poc: Poc
    cutover: datetime
    initial_domain: str
    time_zone: str = "UTC"
    partner_email: str | None = None
    source: SourceHost = field(default_factory=SourceHost)
    vanity_domains: list[str] = field(default_factory=list)
    settings: OrderSettings = field(default_factory=OrderSettings)
    users: list[UserSpec] = field(default_factory=list)
    shared_mailboxes: list[SharedMailboxSpec] = field(default_factory=list)
    public_folders: list[str] = field(default_factory=list)
    distribution_groups: list[DistributionGroupSpec] = field(default_factory=list)
    mail_contacts: list[str] = field(default_factory=list)
    permissions: list[PermissionSpec] = field(default_factory=list)

    @property
    def partner_address(self) -> str:
        """Where partner emails go: the partner's address, else its id."""
        return self.partner_email or self.partner


@dataclass
class CtpRun:
    name: str
    state: CtpState
    runs: int = 0
    attempts: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    error: str | None = None


@dataclass
class Mailbox:
    """One mailbox to move: a user's or a shared one."""

    address: str  # target address (the key)
    source: str
    name: str = ""
    sku: str = ""
    kind: str = "user"  # user | shared
    removed: bool = False
    needs_password: bool = False
    flags_set: bool = False  # UpdatePwdReceptionFlags looked at it
    answered: bool = False  # the user gave password / confirmed
    created: str = ""  # "" | "onmicrosoft" | "vanity"
    failed: bool = False  # its creation failed (task mailbox_failed)
    sync_started: bool = False  # initial sync handed to the syncs workflow
    failed_pass: str = ""  # the last pass that failed (R-SYNC-FAILED), "" once caught up
    grade: str = ""  # its last reconciliation's grade (R-RECONCILE)

    @property
    def ready(self) -> bool:
        return self.flags_set and (self.answered or not self.needs_password)


@dataclass
class Domain:
    name: str
    added: bool = False
    verified: bool = False
    mx_ok: bool = False


@dataclass
class Task:
    id: int
    code: str
    subject: str | None
    opened_at: datetime
    state: TaskState = TaskState.OPEN
    detail: str = ""
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    reason: str = ""  # why it was resolved, when a person resolved it by hand


@dataclass
class Alert:
    code: str
    severity: str
    at: datetime
    detail: str = ""


@dataclass
class Hold:
    reason: str
    since: datetime


@dataclass
class Resync:
    at: datetime
    state: ResyncState = ResyncState.PLANNED


@dataclass
class OrderState:
    order_id: str
    spec: OrderSpec
    status: Status = Status.SAVED
    created_at: datetime | None = None
    placed_at: datetime | None = None
    status_since: datetime | None = None
    cancelled: bool = False
    hold: Hold | None = None
    ctps: dict[str, CtpRun] = field(default_factory=dict)
    mailboxes: dict[str, Mailbox] = field(default_factory=dict)
    domains: dict[str, Domain] = field(default_factory=dict)
    resyncs: list[Resync] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # notification keys already sent: "<template>|<recipient>|<trigger>"
    sent: list[str] = field(default_factory=list)
    # one-shot rules already fired, e.g. "R-HOLD-48@<cutover iso>"
    fired: list[str] = field(default_factory=list)
    credentials_version: int = 0
    syncs_started: bool = False  # the per-mailbox syncs workflow exists
    syncs_settled: bool = False  # every post-cutover pass of every mailbox has ended
    syncs_shards: int = 0  # how many syncs workflows the mailboxes are split over (0: none)
    settled_shards: list[int] = field(default_factory=list)  # shards whose passes all ended
    completed: bool = False

    @property
    def terminal(self) -> bool:
        return self.cancelled or self.completed

    def ctp_state(self, ctp: str) -> CtpState | None:
        run = self.ctps.get(ctp)
        return run.state if run else None

    def was_sent(self, key: str) -> bool:
        """Membership in `sent` in O(1): a 10,000-user order has 30,000+ keys."""
        cache: set[str] | None = self.__dict__.get("_sent_index")
        if cache is None or len(cache) != len(self.sent):
            cache = self.__dict__["_sent_index"] = set(self.sent)
        return key in cache

    def mark_sent(self, key: str) -> None:
        self.was_sent(key)  # builds the index
        self.sent.append(key)
        self.__dict__["_sent_index"].add(key)

    def open_tasks(self, code: str | None = None) -> list[Task]:
        return [t for t in self.tasks
                if t.state is TaskState.OPEN and (code is None or t.code == code)]

    def sync_task_subjects(self) -> list[str]:
        """Mailboxes with an open sync_failed or sync_gaps task (they hold completion)."""
        return sorted({t.subject or "" for t in self.tasks if t.state is TaskState.OPEN
                       and t.code in SYNC_TASKS})

    def active_mailboxes(self) -> list[Mailbox]:
        return [m for m in self.mailboxes.values() if not m.removed]

    def user_mailboxes(self) -> list[Mailbox]:
        return [m for m in self.active_mailboxes() if m.kind == "user"]
