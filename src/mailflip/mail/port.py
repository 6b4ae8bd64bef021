"""The MailMover port: one sync pass of one mailbox, inside an order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mailflip.domain.reconcile import Reconciliation


@dataclass
class PassResult:
    messages: int = 0
    bytes: int = 0
    folders: int = 0
    errors: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    reconciliation: Reconciliation | None = None  # R-RECONCILE (post-cutover passes)


class MailMover(Protocol):
    async def run_pass(self, order_id: str, mailbox: str, source: str, pass_name: str,
                       progress: Callable[[dict[str, Any]], None],
                       report_subjects: bool = False,
                       resumed: bool = False) -> PassResult:
        """One pass; after a post-cutover pass (final, delta, sweep) the result carries
        the mailbox's reconciliation (R-RECONCILE), with subjects only if asked.
        resumed: this is a later attempt of the same pass (its worker died, or it was
        interrupted); its progress and its result count what the earlier attempts
        copied as well, so a resumed pass reports the whole pass."""
        ...
