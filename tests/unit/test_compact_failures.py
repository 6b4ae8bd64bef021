"""An activity's failure stays small enough for Temporal to keep its reason."""

from __future__ import annotations

import ssl

from mailflip.lifecycle.failures import MESSAGE_CHARS, compact


def raise_chained() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError("certificate verify failed: " + "x" * 50_000)
        except ssl.SSLError as inner:
            raise ConnectionError("Max retries exceeded with url: /token") from inner
    except ConnectionError as outer:
        raise OSError("HTTPSConnectionPool(host='127.0.0.1'): " + "y" * 10_000) from outer


def test_a_library_error_chain_becomes_one_bounded_failure_of_the_same_type() -> None:
    try:
        raise_chained()
    except OSError as exc:
        failure = compact(exc)
    assert failure.type == "OSError"  # what non_retryable_error_types match
    assert failure.message.startswith("HTTPSConnectionPool(host='127.0.0.1'): yyy")
    assert failure.message.endswith(" ... (at test_compact_failures.py:17)")
    assert len(failure.message) < MESSAGE_CHARS + 100
    assert failure.__cause__ is None and not failure.non_retryable


def test_a_short_message_is_kept_whole() -> None:
    try:
        raise ValueError("the tenant said no")
    except ValueError as exc:
        failure = compact(exc)
    assert failure.message == "the tenant said no (at test_compact_failures.py:34)"
