"""The order wizard's form as an order (the `order:` section of SCENARIOS.md), and the
checks' errors back onto the form's fields, so each shows next to its field. Plain
functions over the form's text: the page only renders what they return."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailflip.domain.users_csv import RowError, parse_users_csv

FIELDS = ("customer", "partner_email", "poc_name", "poc_email", "time_zone", "cutover",
          "source_kind", "source_host", "source_port", "source_security", "source_admin",
          "initial_domain", "vanity_domains", "users_csv", "shared", "groups", "ssi",
          "rules_and_connectors", "report_subjects")
SOURCE_KINDS = ("imap", "gmail", "exchange", "maildir")
SECURITIES = ("tls", "starttls", "none")

# an error's field path (InvalidInput.field) -> the form field it shows next to
_FIELD_OF = (("order.poc.name", "poc_name"), ("order.poc.email", "poc_email"),
             ("order.partner_email", "partner_email"), ("order.customer", "customer"),
             ("order.time_zone", "time_zone"), ("order.cutover", "cutover"),
             ("order.source.port", "source_port"), ("order.source.security",
                                                    "source_security"),
             ("order.source", "source_host"), ("order.tenant", "initial_domain"),
             ("order.vanity_domains", "vanity_domains"), ("order.users", "users_csv"),
             ("order.shared_mailboxes", "shared"), ("order.distribution_groups", "groups"),
             ("order.settings", "ssi"))


def form_field(path: str) -> str:
    for prefix, name in _FIELD_OF:
        if path.startswith(prefix):
            return name
    return "customer"  # the order as a whole (e.g. order.partner)


def _split(text: str) -> list[str]:
    return [p for p in text.replace(",", " ").split() if p]


def local_cutover(text: str, zone: str) -> str:
    """A datetime-local value is the customer's wall clock; an offset (+3d) or a zoned
    ISO time passes through for the checks to read."""
    text = text.strip()
    if not text or text.startswith("+"):
        return text
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    if at.tzinfo is None:
        try:
            at = at.replace(tzinfo=ZoneInfo(zone or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            return text  # the time zone's own error shows
    return at.isoformat()


def _shared(text: str, errors: dict[str, str]) -> list[dict[str, str]]:
    """One per line: `address, Display name`."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        address, _, name = (p.strip() for p in line.partition(","))
        if not name:
            errors.setdefault("shared", f"line {n}: give `address, Display name`")
            continue
        out.append({"name": name, "address": address})
    return out


def _groups(text: str, errors: dict[str, str]) -> list[dict[str, Any]]:
    """One per line: `group@domain: member@domain, member@domain`."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        address, colon, members = line.partition(":")
        if not colon:
            errors.setdefault("groups", f"line {n}: give `group@domain: member, member`")
            continue
        out.append({"address": address.strip(), "members": _split(members)})
    return out


def order_from_form(form: Mapping[str, str], partner: str
                    ) -> tuple[dict[str, Any], dict[str, str], list[RowError]]:
    """(the order, errors by form field, the users file's errors by line and column).
    The order's own checks (check_spec, via OrderActions.check_create) run after."""
    f = {k: (form.get(k) or "").strip() for k in FIELDS}
    errors: dict[str, str] = {}
    port: int | None = None
    if f["source_port"]:
        if not f["source_port"].isdigit() or not 0 < int(f["source_port"]) < 65536:
            errors["source_port"] = "a port number, 1 to 65535"
        else:
            port = int(f["source_port"])
    if f["source_kind"] not in SOURCE_KINDS:
        errors["source_kind"] = "one of " + ", ".join(SOURCE_KINDS)
    if f["source_security"] not in SECURITIES:
        errors["source_security"] = "one of " + ", ".join(SECURITIES)
    if not f["source_host"] and f["source_kind"] in ("imap", "exchange"):
        errors["source_host"] = "the source mail server's host name is required"
    initial = f["initial_domain"].lower()
    vanity = [d.lower() for d in _split(f["vanity_domains"])]
    users, rows = parse_users_csv(form.get("users_csv") or "", {initial, *vanity})
    order: dict[str, Any] = {
        "partner": partner, "customer": f["customer"],
        "poc": {"name": f["poc_name"], "email": f["poc_email"]},
        "time_zone": f["time_zone"] or "UTC",
        "cutover": local_cutover(f["cutover"], f["time_zone"]),
        "source": {"kind": f["source_kind"] if f["source_kind"] in SOURCE_KINDS else "imap",
                   "host": f["source_host"], "port": port,
                   "security": f["source_security"] if f["source_security"] in SECURITIES
                   else "tls", "admin_credentials": bool(f["source_admin"])},
        "tenant": {"initial_domain": initial},
        "vanity_domains": vanity,
        "settings": {"ssi": bool(f["ssi"]), "rules_and_connectors":
                     bool(f["rules_and_connectors"]),
                     "report_subjects": bool(f["report_subjects"])},
        "users": [{"name": u.name, "source": u.source, "target": u.target, "sku": u.sku,
                   "aliases": u.aliases} for u in users],
        "shared_mailboxes": _shared(f["shared"], errors),
        "distribution_groups": _groups(f["groups"], errors),
    }
    if f["partner_email"]:
        order["partner_email"] = f["partner_email"]
    if rows:
        errors["users_csv"] = f"{len(rows)} problem(s) in the users file: see each line"
    return order, errors, rows


def csv_lines(text: str, rows: list[RowError]) -> list[dict[str, Any]]:
    """The users file's lines, each with its errors, for showing them side by side."""
    by_line: dict[int, list[str]] = {}
    for r in rows:
        by_line.setdefault(r.line, []).append(
            (f"{r.column}: " if r.column else "") + r.message)
    return [{"n": n, "text": line, "errors": by_line.get(n, [])}
            for n, line in enumerate(text.splitlines(), start=1)]
