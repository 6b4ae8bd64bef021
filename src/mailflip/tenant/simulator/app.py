"""Build the local Microsoft 365 (one ASGI app, one port) and serve it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response

from mailflip import webserve
from mailflip.tenant.simulator import inspect, persist
from mailflip.tenant.simulator.auth import Tokens
from mailflip.tenant.simulator.config import SimulatorConfig
from mailflip.tenant.simulator.exo import ExoService
from mailflip.tenant.simulator.graph import GraphService
from mailflip.tenant.simulator.imap_front import ImapSessions
from mailflip.tenant.simulator.model import SimulatedTenant
from mailflip.tenant.simulator.routes import build_router

SAVE_EVERY_S = 1.0  # a changed tenant reaches the disk within this, and at shutdown


def create_app(config: SimulatorConfig, state_file: Path | None = None) -> FastAPI:
    """The token endpoint, Graph v1.0 under /v1.0 and Exchange Online's InvokeCommand,
    over one in-memory state per tenant (`app.state.tenants`, for inspection), kept in
    `state_file` across restarts when one is given; `/_sim/` shows the tenants."""
    tenants = tuple(SimulatedTenant.from_config(t) for t in config.tenants)
    if state_file is not None:
        tenants = persist.restore(state_file, tenants)
    tokens = Tokens(tenants, config.knobs, config.clock, config.token_key)
    changed = asyncio.Event()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if state_file is None:
            yield
            return
        saver = asyncio.create_task(_keep_saving(state_file, tenants, changed))
        try:
            yield
        finally:
            saver.cancel()
            persist.save(state_file, tenants)

    app = FastAPI(title="local Microsoft 365 (mailflip)", openapi_url=None, docs_url=None,
                  redoc_url=None, lifespan=lifespan)
    app.include_router(build_router(tokens, GraphService(config, tenants, tokens),
                                    ExoService(config, tenants, tokens),
                                    config.knobs.max_body_bytes))
    app.include_router(inspect.router(tenants))

    @app.middleware("http")
    async def note_writes(request: Request,
                          call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.method != "GET":
            changed.set()
        return response

    app.state.tenants = {t.tenant_id: t for t in tenants}
    sessions = ImapSessions()

    @app.post("/_imap/introspect", include_in_schema=False)
    async def introspect(request: Request) -> dict[str, object]:
        """Dovecot's oauth2 passdb asks here about the session tokens the IMAP front
        logs in with (RFC 7662)."""
        return sessions.introspect(str((await request.form()).get("token", "")))

    app.state.tokens = tokens  # the IMAP front checks its bearer tokens with them
    app.state.imap_sessions = sessions
    app.state.knobs, app.state.clock = config.knobs, config.clock
    return app


async def _keep_saving(path: Path, tenants: tuple[SimulatedTenant, ...],
                       changed: asyncio.Event) -> None:
    while True:
        await changed.wait()
        changed.clear()
        persist.save(path, tenants)
        await asyncio.sleep(SAVE_EVERY_S)  # at most one write a second, however busy


@asynccontextmanager
async def serving(app: FastAPI, host: str, port: int, *, cert: Path, key: Path,
                  on_ready: Callable[[], None] | None = None,
                  option: str = "--port") -> AsyncIterator[None]:
    """Serve `app` over https in this event loop until the block ends (`mailflip up`,
    `mailflip sim m365`, tests); StackError naming the command's `option` when the port
    is taken."""
    async with webserve.serving(app, host, port, what="the local Microsoft 365",
                                command="mailflip sim m365", option=option, cert=cert,
                                key=key, on_ready=on_ready):
        yield


def serve(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 8365, *,
          ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
          state_file: Path | None = None,
          on_ready: Callable[[], None] | None = None) -> None:
    """Run the simulator until interrupted (`mailflip sim m365`). With a certificate it
    serves https, which msal requires of a login host."""
    server(config, host, port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
           state_file=state_file, on_ready=on_ready).run()


def server(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 8365, *,
           ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
           state_file: Path | None = None, on_ready: Callable[[], None] | None = None,
           log_level: str = "info", signals: bool = True, app: FastAPI | None = None) -> Any:
    """A uvicorn server of the simulator (webserve.uvicorn_server); `app`: serve this one
    (create_app's) instead of a new one."""
    return webserve.uvicorn_server(app or create_app(config, state_file), host, port,
                                   ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                                   on_ready=on_ready, log_level=log_level, signals=signals)
