"""What an end user's desktop agent reports and what it means (R-READINESS-4H): plain
functions over plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailflip.domain.errors import InvalidInput

MIN_OUTLOOK_MAJOR = 16  # Outlook 2016 and newer sign in to Microsoft 365 (modern auth)
MIN_DISK_FREE_MB = 1024  # room for the new profile's offline cache to start
SILENT_AFTER = timedelta(hours=1)  # an agent not heard from this long counts as missing


@dataclass(frozen=True)
class Report:
    outlook_version: str  # "16.0.17928.20114"; "" when Outlook is not installed
    profile_found: bool  # the mail profile that points at the source host
    disk_free_mb: int
    m365_reachable: bool  # outlook.office365.com:443 answered from this PC

    @staticmethod
    def parse(data: object) -> Report:
        """From JSON; InvalidInput naming the field that is missing or of the wrong type."""
        if not isinstance(data, dict):
            raise InvalidInput("report", "must be a JSON object")
        kinds = {"outlook_version": str, "profile_found": bool, "disk_free_mb": int,
                 "m365_reachable": bool}
        for name, kind in kinds.items():
            value = data.get(name)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise InvalidInput(f"report.{name}", f"must be a {kind.__name__}")
        if data["disk_free_mb"] < 0:
            raise InvalidInput("report.disk_free_mb", "must not be negative")
        return Report(data["outlook_version"], data["profile_found"], data["disk_free_mb"],
                      data["m365_reachable"])


def outlook_major(version: str) -> int | None:
    head = version.strip().split(".", 1)[0]
    return int(head) if head.isdigit() else None


def judge(r: Report) -> tuple[str, str]:
    """(ready | not_ready, why not: every reason, for the task agent_not_ready)."""
    why = []
    major = outlook_major(r.outlook_version)
    if major is None:
        why.append("Outlook not found")
    elif major < MIN_OUTLOOK_MAJOR:
        why.append(f"Outlook {r.outlook_version} is older than 2016")
    if not r.profile_found:
        why.append("no mail profile for the source host")
    if r.disk_free_mb < MIN_DISK_FREE_MB:
        why.append(f"{r.disk_free_mb} MB free, {MIN_DISK_FREE_MB} MB needed")
    if not r.m365_reachable:
        why.append("Microsoft 365 not reachable")
    return ("not_ready", "; ".join(why)) if why else ("ready", "")


def status(readiness: str | None, last_seen: datetime | None, now: datetime) -> str:
    """What R-READINESS-4H sees: missing (never enrolled, or silent for an hour: the PC is
    off), not_ready (its last report says so, or it has not reported yet), or ready."""
    if last_seen is None or now - last_seen > SILENT_AFTER:
        return "missing"
    return "ready" if readiness == "ready" else "not_ready"
