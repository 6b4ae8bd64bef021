"""One dataclass in, one out, for the order workflow and its activities."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mailflip.domain.model import OrderSettings, OrderSpec, OrderState, UserSpec
from mailflip.domain.rules import Timings
from mailflip.domain.timeline import TimelineEvent
from mailflip.tenant.port import MailboxToCreate, TenantRef


@dataclass
class EngineSettings:
    """Timings in seconds (Temporal payloads stay plain); see domain.rules.Timings."""

    verify_interval_s: float = 15 * 60
    sweep_interval_s: float = 24 * 3600
    syncs_window: int = 500  # passes running at once per order (split over its shards)
    syncs_shard_size: int = 1000  # mailboxes per syncs workflow (domain.syncs.shard_count)
    syncs_continue_every: int = 1000
    history_budget: int = 8000  # order workflow events per run before continue-as-new
    # >1 divides every lifecycle duration (a benchmark runs 45 days in seconds on a
    # real-time server); 1 in production
    time_scale: float = 1.0
    mirror: bool = True
    pass_give_up_s: float = 24 * 3600  # R-PASS-RETRY: a pass failing this long ends failed
    pass_heartbeat_s: float = 300  # R-PASS-LONG: a silent pass resumes on another worker
    pass_task_queue: str = ""  # passes on their own workers ("": the order's task queue)

    def timings(self) -> Timings:
        return Timings(verify_interval=timedelta(seconds=self.verify_interval_s),
                       sweep_interval=timedelta(seconds=self.sweep_interval_s),
                       ).scaled(self.time_scale)


@dataclass
class TaskFailingInput:
    """From the watchdog: a workflow task of this order keeps failing."""

    detail: str


@dataclass
class RerunSyncInput:
    mailbox: str
    pass_name: str | None = None  # default: the mailbox's last failed pass
    by: str = "support"


@dataclass
class ResolveTaskInput:
    code: str
    subject: str | None
    reason: str
    by: str = "support"


@dataclass
class OrderInput:
    order_id: str
    spec: OrderSpec | None = None  # first run
    settings: EngineSettings = field(default_factory=EngineSettings)
    state: OrderState | None = None  # continue-as-new
    event_seq: int = 0


@dataclass
class OrderResult:
    status: str
    cancelled: bool
    completed: bool


# ----------------------------------------------------------------- updates
@dataclass
class ActionInput:
    by: str = "partner"


@dataclass
class ChangeCutoverInput:
    cutover: datetime
    by: str = "partner"


@dataclass
class AddUserInput:
    user: UserSpec
    by: str = "partner"


@dataclass
class RemoveUserInput:
    address: str
    by: str = "partner"


@dataclass
class UpdateSettingsInput:
    settings: OrderSettings
    by: str = "partner"


@dataclass
class ReleaseHoldInput:
    cutover: datetime | None = None
    by: str = "support"


@dataclass
class RerunCtpInput:
    ctp: str
    by: str = "support"


@dataclass
class UsersReadyInput:
    """Many users at once (an import, a simulation): one update, not thousands."""

    addresses: list[str] = field(default_factory=list)


@dataclass
class ActionResult:
    accepted: bool
    status: str
    event_seq: int


@dataclass
class SyncsReport:
    """From the syncs workflow: failed passes and whether every post-cutover pass ended."""

    failed: list[list[str]] = field(default_factory=list)  # [mailbox, pass, error]
    settled: bool = False
    # [mailbox, pass]: a pass completed for a mailbox whose earlier pass had failed
    caught_up: list[list[str]] = field(default_factory=list)
    gaps: list[list[str]] = field(default_factory=list)  # [mailbox, detail]: R-RECONCILE
    grades: dict[str, str] = field(default_factory=dict)  # mailbox -> last grade
    shard: int = 0  # which of the order's syncs workflows reports


# -------------------------------------------------------------- activities
@dataclass
class CtpInput:
    """Every CTP activity names its CTP (for fault injection and logs)."""

    ctp: str
    tenant: TenantRef


@dataclass
class SetupInput(CtpInput):
    vanity_domains: list[str] = field(default_factory=list)


@dataclass
class CreateMailboxesInput(CtpInput):
    items: list[MailboxToCreate] = field(default_factory=list)
    move_to_vanity: list[str] = field(default_factory=list)


@dataclass
class CreateMailboxesResult:
    failures: dict[str, str] = field(default_factory=dict)  # address -> error
    attempts: int = 1


@dataclass
class DomainInput(CtpInput):
    domain: str = ""
    poll_interval_s: float = 900


@dataclass
class DomainTxtResult:
    records: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class StepInput(CtpInput):
    step: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class MxInput(CtpInput):
    domains: list[str] = field(default_factory=list)


@dataclass
class MxResult:
    ok: dict[str, bool] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)
    attempts: int = 1


@dataclass
class AgentsInput(CtpInput):
    addresses: list[str] = field(default_factory=list)


@dataclass
class AgentsResult:
    status: dict[str, str] = field(default_factory=dict)


@dataclass
class Outgoing:
    key: str
    template: str
    to: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class NotifyInput:
    order_id: str
    items: list[Outgoing] = field(default_factory=list)


@dataclass
class MirrorInput:
    state: OrderState
    events: list[TimelineEvent] = field(default_factory=list)


@dataclass
class AttemptResult:
    attempts: int = 1
