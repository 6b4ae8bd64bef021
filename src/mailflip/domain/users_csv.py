"""Users from a CSV file (the portal's wizard and the API's import): every bad row is
reported by its line and column, not only the first, so a partner fixes the file once.

Columns (header row, any order, case-insensitive): name, source, target, sku, and
optionally aliases (separated by `;`). Line numbers are the file's, header = line 1."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidInput
from .model import UserSpec
from .validation import check_user

REQUIRED = ("name", "source", "target", "sku")
OPTIONAL = ("aliases",)
MAX_ROWS = 20_000


@dataclass(frozen=True)
class RowError:
    line: int
    column: str  # a column name, or "" for the whole row
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


def parse_users_csv(text: str, domains: set[str], existing: Iterable[str] = ()
                    ) -> tuple[list[UserSpec], list[RowError]]:
    """(the good rows' users, every error). `domains`: the order's (targets must be in
    them); `existing`: addresses the order has already (a repeat is an error)."""
    errors: list[RowError] = []
    if not text.strip():
        return [], [RowError(1, "", "the file is empty: give a header row and one row "
                                    "per user")]
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in next(reader)]
    for col in REQUIRED:
        if col not in header:
            errors.append(RowError(1, col, "missing column (the header needs "
                                           + ", ".join(REQUIRED) + ")"))
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    for col in unknown:
        errors.append(RowError(1, col, "unknown column"))
    if errors:
        return [], errors
    seen: dict[str, int] = {a.lower(): 0 for a in existing}
    users: list[UserSpec] = []
    for n, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines are allowed
        if n - 1 > MAX_ROWS:
            errors.append(RowError(n, "", f"more than {MAX_ROWS} users: split the file"))
            break
        if len(row) != len(header):
            errors.append(RowError(n, "", f"{len(row)} cells where the header has "
                                          f"{len(header)}"))
            continue
        cells = dict(zip(header, (c.strip() for c in row), strict=True))
        aliases = [a.strip() for a in cells.get("aliases", "").split(";") if a.strip()]
        raw = UserSpec(name=cells["name"], source=cells["source"], target=cells["target"],
                       sku=cells["sku"], aliases=aliases)
        try:
            user = check_user("row", raw, domains)
        except InvalidInput as exc:
            column = exc.field.removeprefix("row.").split("[", 1)[0]
            errors.append(RowError(n, column, exc.message))
            continue
        bad = False
        for column, addr in (("source", user.source), ("target", user.target)):
            if addr in seen:
                where = f"line {seen[addr]}" if seen[addr] else "the order"
                errors.append(RowError(n, column, f"duplicate address {addr} (also in "
                                                  f"{where})"))
                bad = True
        if bad:
            continue
        seen[user.source] = seen[user.target] = n
        users.append(user)
    if not users and not errors:
        errors.append(RowError(2, "", "no users: give one row per user under the header"))
    return users, errors
