"""Every name the outside world sees: statuses, CTPs, templates, alerts, tasks.

Display names are exact (SPEC.md "Statuses", SCENARIOS.md "CTP names").
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    SAVED = "Saved in Website"
    AWAITING_O365 = "Awaiting O365 Creation"
    INITIATING_VANITY = "Initiating Vanity Domain Map"
    VERIFYING_VANITY = "Verifying Vanity Domain Map"
    CREATING_MAILBOXES = "Creating Mailboxes"
    WAITING_FOR_MIGRATION = "Waiting For Migration Date"
    UPDATING_MX = "Updating MX Record"
    MIGRATING = "Migrating Email"
    SWEEPING = "Sweeping Email"
    COMPLETE = "Migration Complete"

    @property
    def number(self) -> int:
        """S1..S10 as in SPEC.md."""
        return STATUS_ORDER.index(self) + 1

    def __str__(self) -> str:
        return self.value


STATUS_ORDER: list[Status] = list(Status)


class Ctp(StrEnum):
    SETUP_O365 = "Setup Office 365 Account"
    PWD_FLAGS = "Admin - UpdatePwdReceptionFlags"
    GATHER_INFO = "SendEmailsToGatherUserInfo"
    START_SYNCS = "StartSyncsForReadyMailboxes"
    INITIATING_VANITY = "Initiating Vanity Domain Map"
    VERIFY_VANITY = "Verify Vanity Domain"
    CREATE_MAILBOXES = "Create Mailboxes"
    CONTACT_ALIASES = "Synchronize Contact Aliases to Office 365"
    SHARED_ALIASES = "Synchronize Shared Mailbox Aliases to Office 365"
    DISTRIBUTION_GROUPS = "Create Distribution Groups"
    MAIL_FLOW_MAILBOX = "Create Mail Flow Verification Shared Mailbox"
    WAIT_FOR_DATE = "Wait for Migration Date"
    PREPARE_EMAILS = "Send Prepare for Migration Emails"
    UPDATING_MX = "Updating MX Record"
    MIGRATE_EMAIL = "MigrateEmail"
    MIGRATION_SUCCESS_EMAILS = "SendMigrationSuccessfulEmails"
    DELETE_SERVICE_ACCOUNTS = "Delete SKImpersonator Accounts"
    COMPLETED_STEPS = "Perform Migration Completed Steps"

    def __str__(self) -> str:
        return self.value


# The four CTPs that run after Create Mailboxes completes; they never gate status.
POST_CREATE_CTPS: tuple[Ctp, ...] = (
    Ctp.CONTACT_ALIASES,
    Ctp.SHARED_ALIASES,
    Ctp.DISTRIBUTION_GROUPS,
    Ctp.MAIL_FLOW_MAILBOX,
)

# Which CTP's completion moves which status forward (SPEC.md "Statuses").
ADVANCES: dict[Ctp, tuple[Status, Status]] = {
    Ctp.SETUP_O365: (Status.AWAITING_O365, Status.INITIATING_VANITY),
    Ctp.INITIATING_VANITY: (Status.INITIATING_VANITY, Status.VERIFYING_VANITY),
    Ctp.VERIFY_VANITY: (Status.VERIFYING_VANITY, Status.CREATING_MAILBOXES),
    Ctp.CREATE_MAILBOXES: (Status.CREATING_MAILBOXES, Status.WAITING_FOR_MIGRATION),
    Ctp.WAIT_FOR_DATE: (Status.WAITING_FOR_MIGRATION, Status.UPDATING_MX),
    Ctp.UPDATING_MX: (Status.UPDATING_MX, Status.MIGRATING),
    Ctp.MIGRATE_EMAIL: (Status.MIGRATING, Status.SWEEPING),
}


class CtpState(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Template(StrEnum):
    PARTNER_DNS_TXT = "partner_dns_txt"
    USER_GATHER_INFO = "user_gather_info"
    PARTNER_INSUFFICIENT_LICENSES = "partner_insufficient_licenses"
    PARTNER_DOMAIN_UNVERIFIED_HOLD = "partner_domain_unverified_hold"
    USER_PREPARE_FOR_MIGRATION = "user_prepare_for_migration"
    PARTNER_MX_CHANGE_NEEDED = "partner_mx_change_needed"
    USER_SWITCH = "user_switch"
    USER_MIGRATION_SUCCESSFUL = "user_migration_successful"
    POC_ALL_SYNCS_DONE = "poc_all_syncs_done"
    PARTNER_MIGRATION_COMPLETE = "partner_migration_complete"
    PARTNER_SYNC_FAILED = "partner_sync_failed"


class AlertCode(StrEnum):
    INSUFFICIENT_LICENSES = "insufficient_licenses"
    MX_STUCK = "mx_stuck"
    ORDER_ON_HOLD = "order_on_hold"
    CTP_FAILED = "ctp_failed"
    COMPLETION_BLOCKED = "completion_blocked"
    WORKFLOW_TASK_FAILING = "workflow_task_failing"  # the watchdog (lifecycle/watchdog.py)


ALERT_SEVERITY: dict[AlertCode, str] = {
    AlertCode.INSUFFICIENT_LICENSES: "warning",
    AlertCode.MX_STUCK: "critical",
    AlertCode.ORDER_ON_HOLD: "warning",
    AlertCode.CTP_FAILED: "warning",
    AlertCode.COMPLETION_BLOCKED: "warning",
    AlertCode.WORKFLOW_TASK_FAILING: "critical",
}


class TaskCode(StrEnum):
    O365_CREDENTIALS_INVALID = "o365_credentials_invalid"
    CREATE_MAILBOXES_FAILED = "create_mailboxes_failed"
    MAILBOX_FAILED = "mailbox_failed"
    DOMAIN_NOT_VERIFIED = "domain_not_verified"
    AGENT_NOT_READY = "agent_not_ready"
    SYNC_FAILED = "sync_failed"
    SYNC_GAPS = "sync_gaps"


# R-POC-DONE / R-COMPLETE-5D: open tasks that mean mail may not have been copied.
SYNC_TASKS = (TaskCode.SYNC_FAILED, TaskCode.SYNC_GAPS)


class TaskState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ResyncState(StrEnum):
    PLANNED = "planned"
    STARTED = "started"
    CANCELLED = "cancelled"


class SyncPass(StrEnum):
    """The passes of a mailbox's chain (SPEC.md "Sync passes")."""

    INITIAL = "initial"
    RESYNC = "resync"
    FINAL = "final"
    DELTA = "delta"
    SWEEP = "sweep"


# The passes after cutover, each followed by a reconciliation (R-RECONCILE).
POST_CUTOVER_PASSES = (SyncPass.FINAL, SyncPass.DELTA, SyncPass.SWEEP)


class PassState(StrEnum):
    SCHEDULED = "scheduled"
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SyncCommandKind(StrEnum):
    """What the order workflow tells the syncs workflow."""

    INITIAL = "initial"  # start these mailboxes' initial passes
    RESYNC = "resync"  # R-RESYNC: every mailbox past its initial pass
    CUTOVER = "cutover"  # final passes (then delta, sweeps)
    REMOVE = "remove"  # users removed from the order
    STOP = "stop"  # the order was cancelled
    RERUN = "rerun"  # support: run one mailbox's pass again now (rerun_sync)


class Rule(StrEnum):
    """Rules the planner fires by time (SPEC.md rule IDs)."""

    HOLD_48 = "R-HOLD-48"
    READINESS_4H = "R-READINESS-4H"
    MX_STUCK = "R-MX-STUCK"
    POC_DONE = "R-POC-DONE"
    COMPLETE_5D = "R-COMPLETE-5D"


class Role(StrEnum):
    PARTNER = "partner"
    SUPPORT = "support"


HOLD_VANITY_UNVERIFIED = "vanity_domain_unverified"
