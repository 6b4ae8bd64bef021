"""One root for mailflip's errors; class names are what Temporal sees as error types
(refer to them as `SomeError.__name__`, never as typed strings)."""

from __future__ import annotations

from mailflip.domain.errors import InvalidInput, MailflipError

__all__ = ["CredentialsInvalid", "InvalidInput", "MailflipError", "NotYetDone",
           "PassInterrupted", "StackError", "SyncItemError"]


class CredentialsInvalid(MailflipError):
    """The tenant refused the credentials given (permanent until the partner updates them)."""


class NotYetDone(MailflipError):
    """The outside world is not there yet (DNS not published, mailbox provisioning); retry."""


class SyncItemError(MailflipError):
    """A sync pass failed for one mailbox in a way that retrying will not fix."""


class PassInterrupted(MailflipError):
    """A sync pass stopped for a transient reason (connection lost, throttled, server
    unavailable, time-out): retrying resumes it where it stopped (R-PASS-RETRY)."""


class StackError(MailflipError):
    """The local stack could not start, or no adapter is configured for a port; the
    message says what to do."""
