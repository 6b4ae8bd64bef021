"""Messages of the per-order syncs workflow and its pass activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailflip.domain.names import SyncCommandKind, SyncPass
from mailflip.domain.syncs import Box
from mailflip.domain.timeline import TimelineEvent

# The syncs workflow's signal that carries a SyncsCommand (signal-with-start needs its name).
COMMAND_SIGNAL = "command"


@dataclass
class SyncsCommand:
    kind: SyncCommandKind
    mailboxes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    cutover: datetime | None = None
    pass_name: str = ""  # rerun: which pass
    report_subjects: bool = False  # the order's setting when the command was sent


@dataclass
class SyncsInput:
    order_id: str
    window: int = 500
    continue_every: int = 1000
    sweep_interval_s: float = 24 * 3600
    sweep_until_s: float = 4 * 24 * 3600
    commands: list[SyncsCommand] = field(default_factory=list)
    # carried through continue-as-new
    boxes: dict[str, Box] = field(default_factory=dict)
    cutover: datetime | None = None
    cutover_seen: bool = False
    event_seq: int = 0
    failed: list[list[str]] = field(default_factory=list)
    pass_give_up_s: float = 24 * 3600
    caught_up: list[list[str]] = field(default_factory=list)
    gaps: list[list[str]] = field(default_factory=list)
    run_no: int = 1
    report_subjects: bool = False
    pass_heartbeat_s: float = 300
    shard: int = 0  # which of the order's syncs workflows this is (domain.syncs.shard_of)
    pass_task_queue: str = ""  # "": this workflow's own task queue
    time_scale: float = 1.0  # MAILFLIP_TIME_SCALE: its activities' timeouts (Call.scaled)


@dataclass
class CommandSyncsInput:
    """Deliver a command to the order's syncs workflows (each its part of the mailboxes),
    starting those that are not running. `syncs.shard` is ignored: every shard gets its
    own input, with `syncs.window` its part of the order's window."""

    syncs: SyncsInput
    command: SyncsCommand
    shards: int = 1


@dataclass
class SyncsResult:
    mailboxes: int
    runs: int
    stopped: bool


@dataclass
class SyncPassInput:
    order_id: str
    mailbox: str
    source: str
    pass_name: SyncPass
    give_up_s: float = 24 * 3600  # R-PASS-RETRY: pass_give_up
    report_subjects: bool = False  # R-RECONCILE: subjects in the lists (privacy)


@dataclass
class SyncPassOutput:
    messages: int = 0
    bytes: int = 0
    errors: int = 0
    report: dict[str, Any] | None = None  # the reconciliation's counts and grade


@dataclass
class EventsInput:
    order_id: str
    events: list[TimelineEvent] = field(default_factory=list)
