"""Activity failures kept small enough for Temporal to record.

An exception from a library (an SSL error under requests under msal, an httpx transport
error) carries a chain of causes whose messages and stack traces Temporal serialises
into the failure; past the server's size limit it records only "Failure exceeds size
limit." and the reason is lost to `mailflip orders show` and the Temporal UI. Every
activity of a worker therefore fails with one ApplicationError: the exception's type
(which is what retry policies match non-retryable errors by), its message, bounded, and
where it was raised; the worker's own log still has the whole chain.
"""

from __future__ import annotations

import traceback
from typing import Any

from temporalio.exceptions import ApplicationError, TemporalError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

MESSAGE_CHARS = 2000


def compact(exc: BaseException) -> ApplicationError:
    """`exc` as an ApplicationError of the same type name, without its causes."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    text = str(exc)
    if len(text) > MESSAGE_CHARS:
        text = text[:MESSAGE_CHARS] + " ..."
    return ApplicationError(f"{text}{where}", type=type(exc).__name__)


class CompactFailures(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Compacting(next)


class _Compacting(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except TemporalError:
            raise  # the SDK's own (cancellation, an ApplicationError made on purpose)
        except Exception as exc:  # noqa: BLE001 - re-raised, compacted
            raise compact(exc) from None
