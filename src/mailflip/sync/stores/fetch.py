"""FETCH responses parsed in a few regular-expression steps per message.

imapclient's general response parser reads token by token in Python; on the items a pass
fetches (UID, FLAGS, RFC822.SIZE, INTERNALDATE, a header section, BODY[]) it was ~45 %
of an order's GIL time (bench/README.md). `parse_fetch` gives the same result as
`imapclient.response_parser.parse_fetch_response(data, normalise_times=False,
uid_is_key=True)` for what IMAP servers send, and hands anything it does not recognise
to that parser (tests/sync/test_fetch_parser.py checks both agree)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from imapclient.response_parser import parse_fetch_response

# One item of a FETCH response and its value: a number, a flat list (FLAGS), a quoted
# string, NIL, or a literal marker (only at the end of a line: its bytes follow in the
# data). Names may be sections with spaces and parentheses inside the brackets:
# BODY[HEADER.FIELDS (MESSAGE-ID)]<0>. Anything else (nested lists such as ENVELOPE)
# is left to imapclient.
_ITEM = re.compile(
    rb' ?(?P<key>[A-Za-z0-9.]+(?:\[[^\]]*\](?:<\d+>)?)?) (?:(?P<num>\d+)(?=[ )])'
    rb'|\((?P<list>[^()"{]*)\)|"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<nil>NIL)(?=[ )])'
    rb'|\{(?P<literal>\d+)\+?\}\Z)'
)
_HEAD = re.compile(rb"\s*(\d+) \(")
_DATE = re.compile(rb"^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$")
_MONTHS = {m: i for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
     b"dec"), 1)}
_ZONES: dict[bytes, timezone] = {}


class _Unrecognised(Exception):
    pass


def parse_fetch(data: list[Any]) -> dict[int, dict[bytes, Any]]:
    """imaplib's untagged FETCH data -> {UID: {item: value}} (b"SEQ" too)."""
    try:
        return _parse(data)
    except (_Unrecognised, ValueError, IndexError, KeyError, StopIteration):
        return dict(parse_fetch_response(data, False, True))


def _parse(data: list[Any]) -> dict[int, dict[bytes, Any]]:
    out: dict[int, dict[bytes, Any]] = {}
    segments = iter(data)
    for segment in segments:
        if segment is None:
            continue
        text, literal = segment if isinstance(segment, tuple) else (segment, None)
        head = _HEAD.match(text)
        if head is None:
            raise _Unrecognised(text[:40])
        msg: dict[bytes, Any] = {b"SEQ": int(head.group(1))}
        pos = head.end()
        while True:
            item = _ITEM.match(text, pos)
            if item is None:
                if text[pos:].rstrip() != b")":
                    raise _Unrecognised(text[pos:pos + 40])
                break
            pos = item.end()
            key = item.group("key").upper()
            kind = item.lastgroup
            value: Any
            if kind == "num":
                value = int(item.group("num"))
            elif kind == "list":
                value = tuple(int(v) if v.isdigit() else v for v in item.group("list").split())
            elif kind == "quoted":
                quoted = item.group("quoted")
                value = re.sub(rb"\\(.)", rb"\1", quoted) if b"\\" in quoted else quoted
            elif kind == "nil":
                value = None
            else:
                if literal is None or len(literal) != int(item.group("literal")):
                    raise _Unrecognised("literal size")
                value = literal
                text, literal = _next(segments)
                pos = 0
            if key == b"INTERNALDATE":
                value = _date(value)
            msg[key] = value
        uid = msg.pop(b"UID", None)
        if not isinstance(uid, int):
            raise _Unrecognised("no UID")
        out[uid] = msg
    return out


def _next(segments: Any) -> tuple[bytes, bytes | None]:
    segment = next(segments)  # StopIteration: the data ended inside a response
    if segment is None:
        raise _Unrecognised("missing segment")
    return segment if isinstance(segment, tuple) else (segment, None)


def _date(value: Any) -> datetime:
    match = _DATE.match(value) if isinstance(value, bytes) else None
    if match is None:
        raise _Unrecognised("INTERNALDATE")
    day, month, year, hh, mm, ss, sign, oh, om = match.groups()
    zone_key = sign + oh + om
    zone = _ZONES.get(zone_key)
    if zone is None:
        minutes = int(oh) * 60 + int(om)
        zone = _ZONES[zone_key] = timezone(timedelta(minutes=-minutes if sign == b"-" else minutes))
    return datetime(int(year), _MONTHS[month.lower()], int(day), int(hh), int(mm), int(ss),
                    tzinfo=zone)
