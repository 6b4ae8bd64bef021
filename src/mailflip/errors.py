"""One root for mailflip's errors; class names are what Temporal sees as error types."""

from __future__ import annotations


class MailflipError(Exception):
    """Root of every error mailflip raises on purpose."""


class InvalidInput(MailflipError):
    """Bad input: names the field; nothing was changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CredentialsInvalid(MailflipError):
    """The tenant refused the credentials given (permanent until the partner updates them)."""


class NotYetDone(MailflipError):
    """The outside world is not there yet (DNS not published, mailbox provisioning); retry."""


class SimulatedFault(MailflipError):
    """A fault injected by the simulated world (`world.faults`): retryable."""


class SyncItemError(MailflipError):
    """A sync pass failed for one mailbox in a way that retrying will not fix."""
