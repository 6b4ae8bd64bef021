"""The root of mailflip's errors and the one "field: message" input error.

They live in the pure core because the domain raises them; `mailflip.errors` adds the
errors of the outside world under the same root. Class names are what Temporal sees.
"""

from __future__ import annotations


class MailflipError(Exception):
    """Root of every error mailflip raises on purpose."""


class InvalidInput(MailflipError, ValueError):
    """Bad input: names the field; nothing was changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
