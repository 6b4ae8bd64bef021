"""`world.faults`: a CTP's activities fail (retryably) until an instant.

An activity interceptor installed only by the simulator's workers, so that production
activities carry no simulation hook: it looks at the CTP named in the activity's input
and raises before the activity runs, as a flaky outside world would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from mailflip.errors import MailflipError


class SimulatedFault(MailflipError):
    """A fault injected by the simulated world (`world.faults`): retryable."""


class FaultInjector(Interceptor):
    def __init__(self, faults: list[tuple[str, datetime]], now: Callable[[], datetime]) -> None:
        self.faults = faults  # (CTP name, until) in scenario time
        self.now = now  # scenario time of the current activity attempt

    def check(self, ctp: str | None) -> None:
        for name, until in self.faults:
            if name == ctp and self.now() < until:
                raise SimulatedFault(f"{ctp}: simulated fault until {until.isoformat()}")

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        injector = self

        class Faulty(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                if injector.faults:
                    arg = input.args[0] if input.args else None
                    injector.check(getattr(arg, "ctp", None))
                return await super().execute_activity(input)

        return Faulty(next)
