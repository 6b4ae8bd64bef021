"""ASVS 16.2.5 / 14.2.1: one logging set-up for every process, structured, with
secrets redacted by field name, by shape and by value before anything is written."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailflip.logs import REDACTED, mask, mask_secrets_of, setup_logging


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "mailflip.log"
    setup_logging("info", path, "json")
    yield path
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_mailflip", False)]:
        root.removeHandler(h)
        h.close()


def records(path: Path) -> list[dict[str, object]]:
    for h in logging.getLogger().handlers:
        h.flush()
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_asvs_16_2_5_the_log_is_json_lines_with_level_logger_and_time(log_file: Path) -> None:
    logging.getLogger("mailflip.test").info("order %s placed", "o-1")

    [r] = records(log_file)
    assert r["event"] == "order o-1 placed" and r["level"] == "info"
    assert r["logger"] == "mailflip.test" and str(r["timestamp"]).endswith("Z")


def test_asvs_16_2_5_secret_fields_are_redacted_whole(log_file: Path) -> None:
    logging.getLogger("mailflip.test").warning(
        "login", extra={"password": "hunter2-long", "client_secret": "cs-123456",
                        "headers": {"Authorization": "Bearer abc.def.ghi", "Accept": "json"}})

    text = log_file.read_text()
    assert "hunter2-long" not in text and "cs-123456" not in text and "abc.def" not in text
    [r] = records(log_file)
    assert r["password"] == REDACTED and r["headers"] == {"Authorization": REDACTED,
                                                          "Accept": "json"}


@pytest.mark.parametrize("message", [
    "GET /u/Zm9vYmFyYmF6cXV4cXV1eA.abc-def HTTP/1.1 200",
    "calling with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    "api token mf_1a2b3c4d_Qx7Zl0ngS3cretT0kenValue",
    "imap login failed: password=S3cret!pass user=ann",
    "tenant answered {'client_secret': 'Xy9~longsecret', 'id': 1}",
])
def test_asvs_14_2_1_secrets_in_messages_are_redacted_by_shape(
        log_file: Path, message: str) -> None:
    logging.getLogger("uvicorn.access").warning(message)

    text = log_file.read_text()
    assert REDACTED in text
    for secret in ("Zm9vYmFy", "eyJhbGci", "S3cretT0ken", "S3cret!pass", "Xy9~long"):
        assert secret not in text


def test_asvs_16_2_5_values_this_process_holds_are_masked_even_in_tracebacks(
        log_file: Path) -> None:
    mask_secrets_of({"url": "imap://mail.example", "password": "tr0ub4dor&3-source"})
    mask("a-typed-enduser-password")
    try:
        raise RuntimeError("login as ann with tr0ub4dor&3-source refused")
    except RuntimeError:
        logging.getLogger("mailflip.test").exception("pass failed: a-typed-enduser-password")

    text = log_file.read_text()
    assert "tr0ub4dor" not in text and "a-typed-enduser" not in text
    assert "RuntimeError" in text and "imap://mail.example" not in text.replace(REDACTED, "")


def test_libraries_info_goes_to_the_file_not_the_console(
        log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("httpx").info("HTTP Request: POST https://login.example/token")
    logging.getLogger("mailflip.x").info("worker started")

    assert "login.example" in log_file.read_text()
    assert "login.example" not in capsys.readouterr().err
