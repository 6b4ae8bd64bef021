"""Build the local Microsoft 365 (one ASGI app, one port) and serve it."""

from __future__ import annotations

from fastapi import FastAPI

from mailflip.tenant.simulator.auth import Tokens
from mailflip.tenant.simulator.config import SimulatorConfig
from mailflip.tenant.simulator.exo import ExoService
from mailflip.tenant.simulator.graph import GraphService
from mailflip.tenant.simulator.model import SimulatedTenant
from mailflip.tenant.simulator.routes import build_router


def create_app(config: SimulatorConfig) -> FastAPI:
    """The token endpoint, Graph v1.0 under /v1.0 and Exchange Online's InvokeCommand,
    over one in-memory state per tenant (`app.state.tenants`, for inspection)."""
    tenants = tuple(SimulatedTenant.from_config(t) for t in config.tenants)
    tokens = Tokens(tenants, config.knobs, config.clock)
    app = FastAPI(title="local Microsoft 365 (mailflip)", openapi_url=None, docs_url=None,
                  redoc_url=None)
    app.include_router(build_router(tokens, GraphService(config, tenants, tokens),
                                    ExoService(config, tenants, tokens),
                                    config.knobs.max_body_bytes))
    app.state.tenants = {t.tenant_id: t for t in tenants}
    return app


def serve(config: SimulatorConfig, host: str = "127.0.0.1", port: int = 8365, *,
          ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
    """Run the simulator until interrupted (what `mailflip sim m365` will call). With a
    certificate it serves https, which msal requires of a login host."""
    import uvicorn  # only when serving: building the app for tests needs no server

    # a client's kept-alive connection (msal's) must not hold a stopping server forever
    uvicorn.run(create_app(config), host=host, port=port, log_level="info",
                ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                timeout_graceful_shutdown=5)
