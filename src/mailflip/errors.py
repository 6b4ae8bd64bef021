"""One root for mailflip's errors; class names are what Temporal sees as error types
(refer to them as `SomeError.__name__`, never as typed strings)."""

from __future__ import annotations

from mailflip.domain.errors import InvalidInput, MailflipError

__all__ = ["CmdletNonConformant", "ConformanceSpecMissing", "CredentialsInvalid",
           "GraphNonConformant", "InvalidInput", "MailflipError", "NonConformant", "NotYetDone",
           "PassInterrupted", "StackError", "SyncItemError", "TenantApiError", "TenantNotReady",
           "TenantStepUnsupported"]


class CredentialsInvalid(MailflipError):
    """The tenant refused the credentials given (permanent until the partner updates them)."""


class NotYetDone(MailflipError):
    """The outside world is not there yet (DNS not published, mailbox provisioning); retry."""


class TenantNotReady(NotYetDone):
    """The tenant asked us to come back later (throttled beyond what one attempt waits out,
    an object not replicated yet, a mailbox still provisioning): retry after
    `retry_after_s` (the activity turns it into Temporal's `next_retry_delay`)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def __reduce__(self) -> tuple[type[TenantNotReady], tuple[str, float]]:
        return type(self), (str(self), self.retry_after_s)


class TenantApiError(MailflipError):
    """Graph or Exchange Online refused a call in a way the adapter does not handle (no
    retry will fix it: a missing permission, a bad value); `code` is the service's."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[TenantApiError], tuple[int, str, str]]:
        return type(self), (self.status, self.code, self.message)


class TenantStepUnsupported(MailflipError):
    """A tenant step the adapter cannot perform (yet): named, so it shows as unfinished."""


class SyncItemError(MailflipError):
    """A sync pass failed for one mailbox in a way that retrying will not fix."""


class PassInterrupted(MailflipError):
    """A sync pass stopped for a transient reason (connection lost, throttled, server
    unavailable, time-out): retrying resumes it where it stopped (R-PASS-RETRY)."""


class StackError(MailflipError):
    """The local stack could not start, or no adapter is configured for a port; the
    message says what to do."""


class NonConformant(MailflipError):
    """A call that Microsoft's published API description does not allow, found before it
    leaves mailflip (the tenant adapter) or when it reaches the local simulator (which
    refuses it as the real service would). `part` is the offending piece, verbatim."""

    def __init__(self, call: str, part: str, reason: str) -> None:
        super().__init__(f"{call}: {reason}")
        self.call = call
        self.part = part
        self.reason = reason

    def __reduce__(self) -> tuple[type[NonConformant], tuple[str, str, str]]:
        # pickle/copy call the class with `args`: give them this __init__'s three
        return type(self), (self.call, self.part, self.reason)


class GraphNonConformant(NonConformant):
    """A Microsoft Graph request not valid against the v1.0 metadata: `part` is the URL
    segment, query option or body property at fault."""


class CmdletNonConformant(NonConformant):
    """An Exchange Online cmdlet call not valid against exo-cmdlets.md: `part` is the
    cmdlet or parameter at fault."""


class ConformanceSpecMissing(MailflipError, FileNotFoundError):
    """Microsoft's API description files are not where the conformance check looks."""
