"""Where each mailbox of an order lives, for the EngineMover: a CSV file
(`MAILFLIP_MAIL_ENDPOINTS`) with one row per target mailbox, in the columns of
`mailflip sync-batch` (`source`, `target`, `*_password_file`, `*_oauth_token_file`)
plus `mailbox`, the order's target address. Secrets stay in the files named.

Until the order's own credentials drive the passes (Microsoft 365 over IMAP with
XOAUTH2, the source from the gather-info answers), this is how a worker moves real
mail inside a lifecycle.
"""

from __future__ import annotations

import csv
from pathlib import Path

from mailflip.errors import InvalidInput
from mailflip.sync.endpoints import Endpoint, parse_endpoint

COLUMNS = ("mailbox", "source", "target", "source_password_file", "target_password_file",
           "source_oauth_token_file", "target_oauth_token_file")
FIELD = "MAILFLIP_MAIL_ENDPOINTS"


class EndpointTable:
    """(order id, mailbox, source address) -> (source, target), from the file."""

    def __init__(self, rows: dict[str, tuple[Endpoint, Endpoint]], path: Path) -> None:
        self.rows = rows
        self.path = path

    def __call__(self, order_id: str, mailbox: str, source: str) -> tuple[Endpoint, Endpoint]:
        try:
            return self.rows[mailbox.lower()]
        except KeyError:
            raise InvalidInput("mailbox", f"{mailbox} is not listed in {self.path} "
                               f"({FIELD})") from None


def load_endpoints(path: Path) -> EndpointTable:
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(FIELD, f"cannot read {path}: {exc.strerror}") from None
    rows: dict[str, tuple[Endpoint, Endpoint]] = {}
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        for col in ("mailbox", "source", "target"):
            if col not in header:
                raise InvalidInput(FIELD, f"{path}: header lacks column {col}")
        unknown = [c for c in header if c not in COLUMNS]
        if unknown:
            raise InvalidInput(FIELD, f"{path}: unknown column(s) {', '.join(unknown)}")
        for n, raw in enumerate(reader, start=2):
            rec = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            where = f"{FIELD} line {n}"
            mailbox = rec.get("mailbox", "").lower()
            if not mailbox:
                raise InvalidInput(f"{where} mailbox", "is empty")
            if mailbox in rows:
                raise InvalidInput(f"{where} mailbox", f"{mailbox} is listed twice")
            ends = tuple(parse_endpoint(
                rec.get(side, ""), f"{where} {side}",
                password_file=rec.get(f"{side}_password_file") or None,
                oauth_token_file=rec.get(f"{side}_oauth_token_file") or None)
                for side in ("source", "target"))
            rows[mailbox] = (ends[0], ends[1])
    if not rows:
        raise InvalidInput(FIELD, f"{path} lists no mailboxes")
    return EndpointTable(rows, path)
