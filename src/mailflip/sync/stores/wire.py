"""Small IMAP wire helpers: UID sets, dates, Message-ID, fault classification."""

from __future__ import annotations

import email.policy
import imaplib
import re
import socket
import ssl
from collections.abc import Iterable
from datetime import UTC, datetime
from email.parser import BytesHeaderParser

from mailflip.sync.stores.base import StoreFatal, StoreFault, StoreRefused

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
BACKOFF_RE = re.compile(r"Suggested Backoff Time:\s*(\d+)\s*milli", re.IGNORECASE)
# [LIMIT], [OVERQUOTA], [TOOBIG] and the like are about the item: retrying will not help.
_TRANSIENT_CODES = ("[UNAVAILABLE]", "[INUSE]", "[SERVERBUG]", "throttl", "try again")
_MSGID_RE = re.compile(
    rb"^message-id:[ \t]*(.*?)\r?\n(?![ \t])", re.IGNORECASE | re.MULTILINE | re.DOTALL
)
APPENDUID_RE = re.compile(r"\[APPENDUID (\d+) ([0-9:,]+)\]", re.IGNORECASE)


def uid_set(uids: Iterable[int]) -> str:
    """Compact sorted UID set: 1:5,7,9:12 (keeps command lines short)."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    out, start, prev = [], ordered[0], ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        out.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    out.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(out)


def expand_uid_set(text: str) -> list[int]:
    uids: list[int] = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            uids.extend(range(min(a, b), max(a, b) + 1))
        else:
            uids.append(int(part))
    return uids


def imap_date(value: datetime) -> str:
    """Always "DD-Mon-YYYY HH:MM:SS +ZZZZ": servers reject a 1-digit day; locale-free."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return (
        f"{value.day:02d}-{_MONTHS[value.month - 1]}-{value.year:04d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} {sign}{hh:02d}{mm:02d}"
    )


def parse_message_id(header_block: bytes | None) -> str | None:
    if not header_block:
        return None
    match = _MSGID_RE.search(
        header_block if header_block.endswith(b"\n") else header_block + b"\r\n"
    )
    if not match:
        return None
    value = re.sub(rb"\s+", b"", match.group(1)).decode("utf-8", "replace")
    return value or None


def parse_subject(header_block: bytes | None) -> str:
    """The Subject header, RFC 2047 words decoded; "" when there is none."""
    if not header_block:
        return ""
    parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(header_block)
    try:
        return str(parsed.get("subject", "") or "")
    except (ValueError, LookupError):  # a malformed encoded word: show it as it came
        raw = parsed.get_all("subject") or [""]
        return str(raw[0])


def suggested_backoff_s(text: str) -> float | None:
    match = BACKOFF_RE.search(text)
    return int(match.group(1)) / 1000.0 if match else None


def classify(exc: BaseException) -> Exception:
    """Map a library exception onto StoreFault / StoreRefused / StoreFatal."""
    text = str(exc)
    if "authenticated but not connected" in text.lower():
        # Exchange Online: the token is good but the app's FullAccess on this mailbox is
        # not there, or has not reached Exchange yet (it can take a while after it was
        # granted): retried, so that a real lack ends the pass only at R-PASS-RETRY's give-up
        return StoreFault(f"{text} (FullAccess on the mailbox missing or not propagated "
                          "yet)")
    delay = suggested_backoff_s(text)
    if delay is not None or any(code.lower() in text.lower() for code in _TRANSIENT_CODES):
        return StoreFault(text, delay_s=delay, throttled=True)
    if isinstance(
        exc, imaplib.IMAP4.abort | socket.timeout | ssl.SSLError | ConnectionError | EOFError
    ):
        return StoreFault(text)
    if isinstance(exc, OSError):
        return StoreFault(text)
    if "bye" in text.lower() or "not connected" in text.lower():
        return StoreFault(text)
    if isinstance(exc, imaplib.IMAP4.error):
        return StoreRefused(text)
    return StoreFatal(text)
