"""Serving an ASGI app with uvicorn: blocking (`.run()`) or inside the caller's event
loop (`serving`, for `mailflip up` and tests). One home for the two HTTP servers
mailflip runs itself: the local Microsoft 365 and the desktop agents' API."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any


def uvicorn_server(app: Any, host: str, port: int, *, ssl_certfile: str | None = None,
                   ssl_keyfile: str | None = None, on_ready: Callable[[], None] | None = None,
                   log_level: str = "info", signals: bool = True) -> Any:
    """A uvicorn server: `.run()` blocks, `await .serve()` runs in the caller's event loop,
    `should_exit = True` stops it; `on_ready` is called once it listens. `signals=False`
    leaves Ctrl-C to the caller (uvicorn would take it over while serving and raise it
    again on the way out)."""
    import uvicorn  # only when serving: building an app for tests needs no server

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if on_ready is not None and self.started:  # listening: tell the caller
                on_ready()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if signals:
                with super().capture_signals():
                    yield
            else:
                yield

    # log_config None: uvicorn's records go through mailflip's logging (logs.py), redacted
    return Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                 log_config=None,
                                 ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                                 # a kept-alive connection must not hold a stop
                                 timeout_graceful_shutdown=5))


@contextlib.asynccontextmanager
async def serving(app: Any, host: str, port: int, *, what: str, command: str, option: str,
                  cert: Path | None = None, key: Path | None = None,
                  on_ready: Callable[[], None] | None = None) -> AsyncIterator[None]:
    """Serve `app` (https with `cert` and `key`) in this event loop until the block ends.
    StackError naming `command`'s `option` when the port is taken; `what` names the
    server in the error when it does not start."""
    from mailflip.errors import StackError
    from mailflip.localnet import ensure_free

    ensure_free(host, port, command, option)  # uvicorn would exit the process
    listening = asyncio.Event()
    srv = uvicorn_server(app, host, port, ssl_certfile=str(cert) if cert else None,
                         ssl_keyfile=str(key) if key else None, on_ready=listening.set,
                         log_level="info", signals=False)
    task = asyncio.create_task(srv.serve())
    ready = asyncio.create_task(listening.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if not listening.is_set():
        ready.cancel()
        raise StackError(f"{what} did not start on port {port}")
    if on_ready is not None:
        on_ready()
    try:
        yield
    finally:
        srv.should_exit = True
        await task
