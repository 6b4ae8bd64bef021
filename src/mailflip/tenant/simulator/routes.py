"""The HTTP face: thin FastAPI routes that hand each request to its service."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from mailflip.tenant.simulator.auth import TokenError, Tokens
from mailflip.tenant.simulator.exo import ExoService
from mailflip.tenant.simulator.graph import GraphService
from mailflip.tenant.simulator.replies import GraphError, Reply


def build_router(tokens: Tokens, graph: GraphService, exo: ExoService,
                 max_body_bytes: int) -> APIRouter:
    router = APIRouter()

    @router.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            return JSONResponse(tokens.issue(tenant, form))
        except TokenError as error:
            return JSONResponse(error.body, status_code=error.status)

    @router.get("/{tenant}/v2.0/.well-known/openid-configuration")
    async def openid_configuration(tenant: str, request: Request) -> Response:
        """OIDC discovery, which msal asks before its first token request."""
        try:
            return JSONResponse(tokens.discovery(tenant, str(request.base_url).rstrip("/")))
        except TokenError as error:
            return JSONResponse(error.body, status_code=error.status)

    @router.api_route("/v1.0/{path:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    async def graph_v1(path: str, request: Request) -> Response:
        raw = await request.body()
        if max_body_bytes and len(raw) > max_body_bytes:
            return _send(GraphError(413, "RequestEntityTooLarge", "The request body exceeds "
                                    f"{max_body_bytes} bytes.").reply())
        try:
            body = _json(raw)
        except ValueError:
            return _send(GraphError(400, "BadRequest", "The body is not valid JSON.").reply())
        url = "/" + path + (f"?{request.url.query}" if request.url.query else "")
        base = str(request.base_url).rstrip("/") + "/v1.0"
        return _send(await graph.handle(request.method, url, body,
                                        request.headers.get("authorization"), base))

    @router.post("/adminapi/beta/{tenant}/InvokeCommand")
    async def invoke_command(tenant: str, request: Request) -> Response:
        try:
            body = _json(await request.body())
        except ValueError:
            body = None  # refused by the conformance check as a malformed body
        base = str(request.base_url).rstrip("/")
        return _send(exo.invoke(tenant, body, request.headers.get("authorization"), base))

    return router


def _json(raw: bytes) -> Any:
    return json.loads(raw) if raw.strip() else None


def _send(reply: Reply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)
