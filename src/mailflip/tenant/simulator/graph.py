"""Graph v1.0: one entry for a request (and for each request of a `$batch`), in the
order the service applies: conformance to the v1.0 metadata, token, throttling, route,
permission, handler; then, now and then, a committed create whose reply is lost."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mailflip.errors import GraphNonConformant
from mailflip.tenant.conformance import check_request
from mailflip.tenant.simulator import graph_apps, graph_domains, graph_users
from mailflip.tenant.simulator.auth import Grant, Tokens
from mailflip.tenant.simulator.config import SimulatorConfig
from mailflip.tenant.simulator.graph_call import GraphCall, Route
from mailflip.tenant.simulator.model import GRAPH_APP_ID, SimulatedTenant
from mailflip.tenant.simulator.replies import GraphError, Reply, denied, not_emulated
from mailflip.tenant.simulator.throttle import Throttle, directory_cost

ROUTES: tuple[Route, ...] = (*graph_domains.routes.routes, *graph_users.routes.routes,
                             *graph_apps.routes.routes)


@dataclass
class _Request:
    method: str
    url: str  # below /v1.0, with its query: "/users?$top=5"
    body: Any


class GraphService:
    def __init__(self, config: SimulatorConfig, tenants: tuple[SimulatedTenant, ...],
                 tokens: Tokens) -> None:
        self._config = config
        self._tenants = tenants
        self._tokens = tokens
        self._throttle = Throttle(config.knobs, config.clock)
        self._creates = 0
        self._requests = 0

    async def handle(self, method: str, url: str, body: Any, authorization: str | None,
                     base: str) -> Reply:
        try:
            _conform(method, url, body)
            grant = self._grant(authorization)
            if urlsplit(url).path.rstrip("/") == "/$batch":
                return await self._batch(body, grant, base)
            return await self._one(_Request(method, url, body), grant, base)
        except GraphError as error:
            return error.reply()

    def _grant(self, authorization: str | None) -> Grant:
        grant = self._tokens.grant(authorization, GRAPH_APP_ID)
        if grant is None:
            raise GraphError(401, "InvalidAuthenticationToken",
                             "Access token is empty, expired or not for Microsoft Graph.")
        return grant

    async def _one(self, request: _Request, grant: Grant, base: str) -> Reply:
        split = urlsplit(request.url)
        path = "/" + split.path.strip("/")
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        verb = request.method.upper()
        wait = self._throttle.admit(f"{grant.tenant_id}/{grant.client_id}",
                                    directory_cost(verb, path, query))
        if wait is not None:
            raise GraphError(429, "TooManyRequests", "Too many requests.", headers=wait)
        self._requests += 1
        every = self._config.knobs.unavailable_every
        if every and self._requests % every == 0:
            raise GraphError(503, "serviceNotAvailable", "The service is temporarily "
                             "unavailable.", headers={"Retry-After": "1"})
        route, params = _match(verb, path)
        if not set(route.needs) & set(grant.roles):
            raise denied(route.needs)
        tenant = next(t for t in self._tenants if t.tenant_id == grant.tenant_id)
        call = GraphCall(verb, path, query, request.body, tenant, grant, self._config.clock(),
                         base, self._config.knobs, self._config.resolver, self._tenants,
                         params)
        reply = await route.handler(call)
        return self._maybe_lost(reply)

    def _maybe_lost(self, reply: Reply) -> Reply:
        every = self._config.knobs.lose_create_every
        if reply.status != 201 or not every:
            return reply
        self._creates += 1
        if self._creates % every:
            return reply
        # committed, but the client never hears: its retry must meet ObjectConflict
        return GraphError(504, "GatewayTimeout", "The gateway did not receive a timely "
                          "response from the upstream server.").reply()

    async def _batch(self, body: dict[str, Any], grant: Grant, base: str) -> Reply:
        """Each request through the same path as a single one; per-item status (a 429 in
        a batch is that item's, not the batch's)."""
        done: dict[str, int] = {}
        responses = []
        for item in body["requests"]:
            if any(done.get(dep, 424) >= 400 for dep in item.get("dependsOn", [])):
                reply = GraphError(424, "FailedDependency",
                                   "A request this one depends on failed.").reply()
            else:
                url = "/" + str(item["url"]).lstrip("/")
                try:
                    _conform(item["method"], url, item.get("body"))
                    reply = await self._one(_Request(item["method"], url, item.get("body")),
                                            grant, base)
                except GraphError as error:
                    reply = error.reply()
            done[item["id"]] = reply.status
            responses.append({"id": item["id"], "status": reply.status,
                              "headers": {"Content-Type": "application/json", **reply.headers},
                              "body": reply.body})
        return Reply(200, {"responses": responses})


def _conform(method: str, url: str, body: Any) -> None:
    try:
        check_request(method, url, body)
    except GraphNonConformant as error:
        raise GraphError(400, "BadRequest", f"{error.reason} (at {error.part!r})",
                         details=[{"code": "NonConformant", "target": error.part}]) from error


def _match(verb: str, path: str, routes: Iterable[Route] = ROUTES) -> tuple[Route, dict[str, str]]:
    for route in routes:
        found = route.pattern.match(path)
        if found and route.method == verb:
            return route, found.groupdict()
    raise not_emulated(f"{verb} {path}")
