"""sync-batch: one pass per CSV row, several mailboxes at once, shared connection limits."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mailflip.errors import InvalidInput, MailflipError
from mailflip.sync.endpoints import Endpoint, parse_endpoint
from mailflip.sync.engine import run_pass
from mailflip.sync.limits import ConnectionLimiter
from mailflip.sync.options import PassOptions
from mailflip.sync.report import PassReport

REQUIRED = ("source", "target", "state_dir")
OPTIONAL = (
    "pass",
    "source_password_file",
    "target_password_file",
    "source_oauth_token_file",
    "target_oauth_token_file",
)


@dataclass(frozen=True)
class BatchRow:
    line: int
    source: Endpoint
    target: Endpoint
    state_dir: str
    pass_name: str


@dataclass
class BatchResult:
    row: BatchRow
    report: PassReport | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "line": self.row.line,
            "source": self.row.source.display,
            "target": self.row.target.display,
            "error": self.error,
            "report": self.report.to_dict() if self.report else None,
        }

    def summary(self) -> str:
        head = f"line {self.row.line} {self.row.source.display} -> {self.row.target.display}: "
        if self.error:
            return head + f"FAILED {self.error}"
        r = self.report
        assert r is not None
        return head + (
            f"{r.messages_copied} copied, {r.messages_skipped} skipped, "
            f"{len(r.item_errors)} item errors, {r.duration_s:.1f}s"
        )


def load_batch(path: Path) -> list[BatchRow]:
    """Parse and validate the whole file before any pass starts."""
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput("csv_file", f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise InvalidInput("csv_file", f"header lacks column(s) {', '.join(missing)}")
        unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
        if unknown:
            raise InvalidInput("csv_file", f"unknown column(s) {', '.join(unknown)}")
        rows = []
        for n, raw in enumerate(reader, start=2):
            rec = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            for col in REQUIRED:
                if not rec.get(col):
                    raise InvalidInput(f"csv_file line {n} {col}", "is empty")
            src = parse_endpoint(
                rec["source"],
                f"csv_file line {n} source",
                password_file=rec.get("source_password_file") or None,
                oauth_token_file=rec.get("source_oauth_token_file") or None,
                password_env="MAILFLIP_SOURCE_PASSWORD",
            )
            tgt = parse_endpoint(
                rec["target"],
                f"csv_file line {n} target",
                password_file=rec.get("target_password_file") or None,
                oauth_token_file=rec.get("target_oauth_token_file") or None,
                password_env="MAILFLIP_TARGET_PASSWORD",
            )
            rows.append(BatchRow(n, src, tgt, rec["state_dir"], rec.get("pass") or "pass"))
    if not rows:
        raise InvalidInput("csv_file", "no mailboxes listed")
    dirs = [r.state_dir for r in rows]
    if len(set(dirs)) != len(dirs):
        raise InvalidInput("csv_file", "two rows share a state_dir (one ledger per mailbox)")
    return rows


def run_batch(
    rows: list[BatchRow],
    concurrency: int,
    max_connections: int,
    per_host: int,
    options: PassOptions,
) -> list[BatchResult]:
    if concurrency < 1:
        raise InvalidInput("concurrency", "must be at least 1")
    limiter = ConnectionLimiter(max_connections, per_host)

    def one(row: BatchRow) -> BatchResult:
        try:
            return BatchResult(
                row,
                run_pass(
                    row.source, row.target, row.state_dir, row.pass_name, options, limiter=limiter
                ),
            )
        except MailflipError as exc:
            return BatchResult(row, error=str(exc))

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, rows))
