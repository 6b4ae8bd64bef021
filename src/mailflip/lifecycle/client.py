"""Acting on an order's workflow from outside (CLI, portal, simulator).

`act()` runs an Update and returns None when it was accepted or the refusal's message,
also for an order whose workflow has already ended (cancelled or complete); `attempt()`
the same with the accepted Update's result."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from mailflip.domain.model import OrderState


async def act(handle: WorkflowHandle[Any, Any], update: Any, arg: Any) -> str | None:
    return (await attempt(handle, update, arg))[1]


async def attempt(handle: WorkflowHandle[Any, Any], update: Any, arg: Any
                  ) -> tuple[Any, str | None]:
    """(the Update's result, None) when accepted, (None, the refusal) when not."""
    try:
        return await handle.execute_update(update, arg), None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        return None, cause.message if isinstance(cause, ApplicationError) else str(cause)
    except RPCError:
        desc = await handle.describe()
        if desc.status == WorkflowExecutionStatus.RUNNING:
            raise
        state: OrderState = await handle.query("state", result_type=OrderState)
        return None, ("action: the order is cancelled" if state.cancelled else
                      "action: the order is complete")
