"""One logging set-up for every mailflip process (CLI, worker, portal, local stack):
structured records (structlog over the stdlib's logging, so the libraries' records
too: Temporal, uvicorn, httpx, msal), with secrets redacted before anything is written.

Redaction works three ways, so that a secret is caught even where nobody thought of it:
* a field whose name says secret (password, secret, token, authorization, cookie,
  api key, credentials) is replaced whole;
* in messages and tracebacks, the shapes secrets take: `Bearer ...`, mailflip's API
  tokens (`mf_...`), the gather-info link's token (`/u/...`), `password=...` and the
  like;
* every secret value this process has been given (`mask()`): the settings' keys and
  passwords, credentials read from the vault or typed by an end user, API tokens made.

Console output is readable text (or JSON lines, MAILFLIP_LOG_FORMAT=json); a log file
(MAILFLIP_LOG_FILE, `mailflip up`'s DATA_DIR/mailflip.log) is JSON lines.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any

import structlog

REDACTED = "[redacted]"
SECRET_FIELD = re.compile(r"pass(word|wd)?|secret|token|authori[sz]ation|cookie|api[_-]?key|"
                          r"credential|private[_-]?key", re.I)
SHAPES = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    (re.compile(r"\bmf_[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"/u/[A-Za-z0-9_.-]{16,}"), "/u/" + REDACTED),
    (re.compile(r"(?i)\b((?:client_)?secret|password|passwd|token|api[_-]?key|code)"
                r"(['\"]?\s*[:=]\s*['\"]?)[^\s'\",&;}]+"), r"\1\2" + REDACTED),
)
MIN_MASKED = 6  # shorter values would blank out ordinary words


class Masks:
    """The secret values of this process, longest first (so a secret containing another
    is replaced whole)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: list[str] = []

    def add(self, values: Iterable[str]) -> None:
        with self.lock:
            fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_MASKED}
            self.values = sorted(set(self.values) | fresh, key=len, reverse=True)

    def apply(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text


MASKS = Masks()


def mask(*values: str | None) -> None:
    """Never write these values to a log (a secret this process now holds)."""
    MASKS.add(v for v in values if v)


def mask_secrets_of(mapping: dict[str, Any]) -> None:
    """Mask the values of a mapping's secret-named fields (credentials as stored)."""
    mask(*(str(v) for k, v in mapping.items() if SECRET_FIELD.search(k) and v))


def redact_text(text: str) -> str:
    for shape, replacement in SHAPES:
        text = shape.sub(replacement, text)
    return MASKS.apply(text)


def redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_FIELD.search(str(k)) and v else redact(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]
                 ) -> MutableMapping[str, Any]:
    """The structlog processor: every field, nested, and the message."""
    for key in list(event):
        if key.startswith("_"):
            continue
        if key not in ("event", "exception") and SECRET_FIELD.search(key) and event[key]:
            event[key] = REDACTED
        else:
            event[key] = redact(event[key])
    return event


def _pre_chain() -> list[Any]:
    return [structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info]


def _formatter(renderer: Any) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_pre_chain(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    redact_event, renderer])


_BASE_FACTORY = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Records are redacted where they are made, so that every handler (a test runner's
    capture too) sees the redacted message and traceback, not only mailflip's."""
    record = _BASE_FACTORY(*args, **kwargs)
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a bad format string: logging reports it later
        return record
    record.msg, record.args = redact_text(message), ()
    if record.exc_info and record.exc_info[1] is not None:
        import traceback

        record.exc_text = redact_text("".join(traceback.format_exception(
            *record.exc_info)).rstrip("\n"))
    return record


def setup_logging(level: str = "info", file: Path | None = None,
                  console: str = "auto", settings: Any = None) -> None:
    """Configure the root logger of this process (again, replacing what an earlier
    call set): mailflip's records from `level` up, the libraries' from warning; the
    console as text or JSON lines (`console`: text, json, or auto: text on a terminal),
    `file` as JSON lines with the libraries' info records too. The settings' secrets
    are masked from the start."""
    if settings is not None:
        secrets = [s.get_secret_value() for s in (
            settings.secret_key, settings.payload_keys, settings.smtp_password,
            settings.temporal_api_key) if s is not None]
        keys = settings.payload_keys.get_secret_value() if settings.payload_keys else ""
        mask(*secrets, *(part.partition(":")[2] for part in keys.split(",")))
    logging.setLogRecordFactory(_redacting_factory)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_mailflip", False)]:
        root.removeHandler(handler)
    as_json = console == "json" or (console == "auto" and not sys.stderr.isatty())
    threshold = logging.getLevelName(level.upper())
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(_formatter(structlog.processors.JSONRenderer() if as_json else
                                structlog.dev.ConsoleRenderer(colors=False)))
    out.addFilter(lambda r: r.levelno >= (threshold if r.name.startswith("mailflip")
                                          else max(threshold, logging.WARNING)))
    handlers: list[logging.Handler] = [out]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(file, encoding="utf-8")
        to_file.setFormatter(_formatter(structlog.processors.JSONRenderer()))
        to_file.addFilter(lambda r: r.levelno >= min(threshold, logging.INFO))
        handlers.append(to_file)
    for handler in handlers:
        handler._mailflip = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(min(threshold, logging.INFO if file is not None else logging.WARNING))
    logging.getLogger("mailflip").setLevel(threshold)
