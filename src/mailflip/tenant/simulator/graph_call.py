"""What a Graph handler gets (one request, resolved to a tenant and a grant) and how it
declares itself (`Route`): the router and every handler module share these."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mailflip.tenant.simulator.auth import Grant
from mailflip.tenant.simulator.config import Knobs, Resolver
from mailflip.tenant.simulator.model import SimulatedTenant
from mailflip.tenant.simulator.replies import Reply, bad_request


@dataclass
class GraphCall:
    method: str
    path: str  # below /v1.0, without the query: "/users/{id}"
    query: dict[str, str]
    body: Any
    tenant: SimulatedTenant
    grant: Grant
    now: float
    base: str  # the service root as the client reached it: "http://host/v1.0"
    knobs: Knobs
    resolver: Resolver
    tenants: tuple[SimulatedTenant, ...]  # every tenant (a domain may be taken elsewhere)
    params: dict[str, str] = field(default_factory=dict)

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise bad_request("The request body must be a JSON object.", "BadRequest")
        return self.body


Handler = Callable[[GraphCall], Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    needs: tuple[str, ...]  # any one of these application permissions will do


class RouteTable:
    """One handler module's routes, declared next to the handlers (like an APIRouter)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, needs: tuple[str, ...]
            ) -> Callable[[Handler], Handler]:
        """Register a handler for `template` (`/users/{id}`: one segment per `{name}`)."""
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        pattern = re.compile(f"^{regex}$")

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, pattern, handler, needs))
            return handler
        return register


READ_DIRECTORY = ("Directory.Read.All", "Directory.ReadWrite.All")
WRITE_DIRECTORY = ("Directory.ReadWrite.All",)
