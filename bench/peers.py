"""What the benchmarks share: mbsync's configuration for a set of channels, medians."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Account:
    user: str
    port: int
    password: str = "pw"
    host: str = "127.0.0.1"


def mbsync_rc(work: Path, channels: list[tuple[Account, Account]]) -> Path:
    """An mbsyncrc with channel ch<i> pulling every folder of channels[i]'s first account
    into its second (as the shared peer benchmark configures mbsync: pipelined, arrival
    dates kept, nothing expunged), each with a state dir of its own under `work`."""
    lines: list[str] = []
    for i, (src, dst) in enumerate(channels):
        for side, acc in (("src", src), ("dst", dst)):
            lines += [f"IMAPAccount {side}{i}", f"Host {acc.host}", f"Port {acc.port}",
                      f"User {acc.user}", f"Pass {acc.password}", "SSLType None",
                      "AuthMechs LOGIN", "PipelineDepth 50", "", f"IMAPStore {side}{i}",
                      f"Account {side}{i}", ""]
        state = work / f"mbsync-state{i}"
        state.mkdir(parents=True, exist_ok=True)
        lines += [f"Channel ch{i}", f"Far :src{i}:", f"Near :dst{i}:", "Patterns *",
                  "Create Near", "Sync Pull", "Expunge None", "CopyArrivalDate yes",
                  f"SyncState {state}/", ""]
    rc = work / "mbsyncrc"
    rc.write_text("\n".join(lines))
    rc.chmod(0o600)
    return rc


def spread(values: list[float], digits: int = 2) -> str:
    """"median (min-max)"."""
    return (f"{statistics.median(values):.{digits}f} "
            f"({min(values):.{digits}f}-{max(values):.{digits}f})")
