"""The zones `mailflip sim dns` serves: one zone file per domain in a directory
(`DIR/<zone>.zone`, standard master-file lines `name. TTL IN TYPE value`), edited by
`mailflip sim dns set|unset` and read back by the server on every change.

A name belongs to the zone that is its longest suffix among the files; a name in no
zone makes one of its last two labels (`autodiscover.contoso.com` -> `contoso.com`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mailflip.errors import InvalidInput

TYPES = ("A", "AAAA", "CNAME", "MX", "TXT")
TTL = 300
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class Record:
    name: str  # lower case, no trailing dot
    type: str
    value: str  # master-file form: `0 host.`, `"text"`, `host.`, `192.0.2.1`
    ttl: int = TTL

    def line(self) -> str:
        return f"{self.name}. {self.ttl} IN {self.type} {self.value}"


def check_name(name: str, field: str = "name") -> str:
    out = name.strip().rstrip(".").lower()
    labels = out.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidInput(field, f"{name!r} is not a domain name")
    return out


def record(name: str, rtype: str, value: str) -> Record:
    """A record from the CLI's words, checked: `set contoso.com MX "0 mx.example."`."""
    from dnslib import RR

    host = check_name(name)
    kind = rtype.strip().upper()
    if kind not in TYPES:
        raise InvalidInput("type", f"{rtype!r} is not one of {', '.join(TYPES)}")
    text = value.strip()
    if not text:
        raise InvalidInput("value", "is empty")
    if kind == "TXT":  # one string; quoted as a master file wants it
        text = '"' + text.strip('"').replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif kind in ("MX", "CNAME") and not text.endswith("."):
        text += "."  # a host name here is absolute
    rec = Record(host, kind, text)
    try:
        RR.fromZone(rec.line())
    except Exception as exc:  # noqa: BLE001 - dnslib raises whatever its parser meets
        raise InvalidInput("value", f"{value!r} is not a valid {kind} value: {exc}") from None
    return rec


def zone_files(zones: Path) -> dict[str, Path]:
    return {p.name.removesuffix(".zone"): p for p in zones.glob("*.zone")} \
        if zones.is_dir() else {}


def _zone_file(zones: Path, name: str) -> Path:
    return zones / f"{zone_of(zones, name)}.zone"


def zone_of(zones: Path, name: str) -> str:
    known = zone_files(zones)
    labels = name.split(".")
    for i in range(len(labels) - 1):
        if ".".join(labels[i:]) in known:
            return ".".join(labels[i:])
    return ".".join(labels[-2:])


def read_zone(path: Path) -> list[Record]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):  # (a TXT value may hold a ";": no inline ones)
            continue
        name, ttl, _cls, rtype, value = line.split(None, 4)
        out.append(Record(name.rstrip(".").lower(), rtype.upper(), value, int(ttl)))
    return out


def _write_zone(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(r.line() + "\n" for r in records), encoding="utf-8")
    os.replace(tmp, path)  # the server never reads half a file


def set_record(zones: Path, rec: Record, add: bool = False) -> Path:
    """Publish `rec`: it replaces the name's records of that type (or joins them with
    `add`). Returns the zone file."""
    path = _zone_file(zones, rec.name)
    records = read_zone(path) if path.is_file() else []
    if not add:
        records = [r for r in records if (r.name, r.type) != (rec.name, rec.type)]
    if rec not in records:
        records.append(rec)
    _write_zone(path, records)
    return path


def unset_record(zones: Path, name: str, rtype: str | None = None) -> int:
    """Withdraw the name's records (of one type, or all); how many went."""
    host = check_name(name)
    kind = rtype.upper() if rtype else None
    path = _zone_file(zones, host)
    if not path.is_file():
        return 0
    records = read_zone(path)
    kept = [r for r in records if r.name != host or (kind is not None and r.type != kind)]
    _write_zone(path, kept)
    return len(records) - len(kept)


def records_of(zones: Path, name: str) -> list[Record]:
    """What is published at `name` and below it."""
    host = check_name(name)
    path = _zone_file(zones, host)
    if not path.is_file():
        return []
    return [r for r in read_zone(path) if r.name == host or r.name.endswith("." + host)]
