"""The desktop agents' HTTP API (FastAPI), served by the worker side.

Every call carries the agent's enrolment code as a bearer token (`Authorization:
Bearer CODE`, never in a URL): the code from the user's prepare-for-migration email,
which the store knows only by its hash. Routes, under /agent/v1:

- POST enrol {host}: first contact (again: harmless); answers the user's address and
  how often to call back.
- POST heartbeat: still here (R-READINESS-4H counts an agent silent for an hour as
  missing).
- POST readiness {outlook_version, profile_found, disk_free_mb, m365_reachable}: judged
  by domain/agents.judge; the answer says why not, when not.
- GET commands: what is queued and not acknowledged (flip, stop).
- POST commands/{id}/ack {result: done | failed, detail}: the first answer stands.

Bad input answers 422 with the field named; an unknown or revoked code 401."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mailflip.domain.agents import Report, judge
from mailflip.domain.errors import InvalidInput
from mailflip.store.agents import AGENT, AgentRegistry

from .store_agents import STOP

POLL_EVERY_S = 30  # what enrol tells the agent: heartbeat and poll this often


class Unauthorized(Exception):
    pass


def _bearer(request: Request) -> str:
    kind, _, value = request.headers.get("authorization", "").partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        raise Unauthorized("send the enrolment code as Authorization: Bearer CODE")
    return value.strip()


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise InvalidInput("body", "must be JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    return data


def agents_app(store: AgentRegistry, poll_every_s: int = POLL_EVERY_S) -> FastAPI:
    app = FastAPI(title="mailflip desktop agents API", version="1")

    @app.exception_handler(InvalidInput)
    async def invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"error": exc.message, "field": exc.field}, status_code=422)

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse({"error": str(exc), "field": "authorization"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    async def agent(request: Request) -> tuple[str, str]:
        owner = await asyncio.to_thread(store.token_owner, AGENT, _bearer(request))
        if owner is None:
            raise Unauthorized("unknown or revoked enrolment code")
        return owner

    @app.post("/agent/v1/enrol")
    async def enrol(request: Request) -> dict[str, Any]:
        order_id, address = await agent(request)
        host = (await _body(request)).get("host", "")
        if not isinstance(host, str) or not host.strip():
            raise InvalidInput("host", "the PC's name is required")
        await asyncio.to_thread(store.agent_seen, order_id, address, host.strip())
        return {"address": address, "poll_every_s": poll_every_s}

    @app.post("/agent/v1/heartbeat", status_code=204)
    async def heartbeat(request: Request) -> None:
        order_id, address = await agent(request)
        await asyncio.to_thread(store.agent_seen, order_id, address)

    @app.post("/agent/v1/readiness")
    async def readiness(request: Request) -> dict[str, str]:
        order_id, address = await agent(request)
        report = Report.parse(await _body(request))
        state, reason = judge(report)
        await asyncio.to_thread(store.agent_seen, order_id, address, None,
                                (state, reason, report.__dict__))
        return {"readiness": state, "reason": reason}

    @app.get("/agent/v1/commands")
    async def commands(request: Request) -> dict[str, Any]:
        order_id, address = await agent(request)
        await asyncio.to_thread(store.agent_seen, order_id, address)
        rows = await asyncio.to_thread(store.commands, order_id, address, True)
        return {"commands": [{"id": r.id, "kind": r.kind, "payload": r.payload}
                             for r in rows]}

    @app.post("/agent/v1/commands/{command_id}/ack")
    async def ack(command_id: int, request: Request) -> dict[str, bool]:
        order_id, address = await agent(request)
        body = await _body(request)
        result, detail = body.get("result"), body.get("detail", "")
        if result not in ("done", "failed"):
            raise InvalidInput("result", "must be done or failed")
        if not isinstance(detail, str):
            raise InvalidInput("detail", "must be a string")
        text = result if result == "done" else f"failed: {detail or 'no reason given'}"
        kind = await asyncio.to_thread(store.ack_command, order_id, address, command_id,
                                       text)
        if kind == STOP:  # its work is over: the code opens nothing now
            await asyncio.to_thread(store.revoke_tokens, order_id, AGENT, address)
        return {"acknowledged": kind is not None}

    return app
