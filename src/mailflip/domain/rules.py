"""Timing and counting rules of SPEC.md, as plain functions (grep for the rule id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Timings:
    """Every duration the lifecycle uses; configurable, SPEC.md defaults."""

    verify_interval: timedelta = timedelta(minutes=15)  # R-CTP-S4
    prepare_emails_lead: timedelta = timedelta(hours=72)  # Send Prepare for Migration Emails
    hold_lead: timedelta = timedelta(hours=48)  # R-HOLD-48
    readiness_lead: timedelta = timedelta(hours=4)  # R-READINESS-4H
    lock_lead: timedelta = timedelta(hours=4)  # R-LOCK-4H
    mx_timer: timedelta = timedelta(minutes=10)  # R-CTP-S7
    mx_stuck_after: timedelta = timedelta(minutes=15)  # R-MX-STUCK
    sweep_interval: timedelta = timedelta(hours=24)  # sweeps
    sweep_until: timedelta = timedelta(days=4)  # sweeps stop at cutover + 4 d
    complete_after: timedelta = timedelta(days=5)  # R-COMPLETE-5D
    resync_scale: float = 1.0  # R-RESYNC's 7/20/40-day steps, scaled like the rest


    def scaled(self, factor: float) -> Timings:
        """Every duration divided by `factor` (benchmarks on a real-time server)."""
        if factor == 1:
            return self
        fields = {k: v / factor for k, v in vars(self).items() if isinstance(v, timedelta)}
        return Timings(**fields, resync_scale=self.resync_scale * factor)


# R-RESYNC: (minimum lead, resync offset before cutover), stacking.
RESYNC_STEPS: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=40), timedelta(days=20)),
    (timedelta(days=20), timedelta(days=10)),
    (timedelta(days=7), timedelta(hours=42)),
)


def resync_times(cutover: datetime, now: datetime, scale: float = 1) -> list[datetime]:
    """R-RESYNC: resync instants for a plan made at `now` (earliest first).

    lead >= 7 d: cutover - 42 h; >= 20 d: also cutover - 10 d; >= 40 d: also cutover - 20 d.
    The lead is rounded to the minute (interp.): an order that reaches S6 a few
    milliseconds after being placed exactly 40 days out is 40 days out.
    """
    unit = 60 / scale
    lead = timedelta(seconds=round((cutover - now).total_seconds() / unit) * unit)
    return sorted(cutover - offset / scale for min_lead, offset in RESYNC_STEPS
                  if lead >= min_lead / scale)


def create_mailboxes_fails(failed: int, attempted: int) -> bool:
    """R-MBX-25: the CTP fails when 25 % or more of the mailboxes it tried failed."""
    return attempted > 0 and failed * 4 >= attempted


def in_lock_window(cutover: datetime, now: datetime, timings: Timings) -> bool:
    """R-LOCK-4H: from cutover - 4 h partner changes are refused."""
    return now >= cutover - timings.lock_lead


def tenant_address(address: str, created: str, initial_domain: str) -> str:
    """The address a created mailbox answers to in the tenant now: on the initial domain
    while it was made there (vanity domain not verified yet), else its own."""
    if created == "onmicrosoft":
        return f"{address.partition('@')[0]}@{initial_domain}"
    return address


def m365_mx_host(domain: str) -> str:
    """The MX host Microsoft 365 gives a domain (the classic protection host)."""
    return domain.replace(".", "-") + ".mail.protection.outlook.com"


def mx_points_to_m365(domain: str, mx_hosts: list[str]) -> bool:
    """R-CTP-S7: MX points to Microsoft 365 (classic protection host or newer *.mx.microsoft)."""
    classic = m365_mx_host(domain)
    for host in mx_hosts:
        h = host.lower().rstrip(".")
        if h == classic or h.endswith(".mx.microsoft"):
            return True
    return False


M365_AUTODISCOVER = "autodiscover.outlook.com"
M365_SPF_INCLUDE = "include:spf.protection.outlook.com"


def autodiscover_points_to_m365(cname: str | None) -> bool:
    """Advice, not a gate: Outlook finds Microsoft 365 through autodiscover.<domain>,
    a CNAME to autodiscover.outlook.com."""
    return (cname or "").lower().rstrip(".") == M365_AUTODISCOVER


def spf_includes_m365(spf: str | None) -> bool:
    """Advice, not a gate: mail sent from Microsoft 365 passes SPF when the domain's
    policy includes spf.protection.outlook.com."""
    return M365_SPF_INCLUDE in (spf or "").lower().split()


def next_sweep(last_start: datetime, cutover: datetime, timings: Timings) -> datetime | None:
    """Sweeps repeat every 24 h (start to start) until cutover + 4 d (interp.)."""
    nxt = last_start + timings.sweep_interval
    return nxt if nxt <= cutover + timings.sweep_until else None
