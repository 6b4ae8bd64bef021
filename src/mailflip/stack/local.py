"""`mailflip up` / `demo`: the Temporal dev server, then a worker in this process;
on the way out the worker stops first and the server last."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from mailflip.compose import Composition
from mailflip.config import Settings
from mailflip.lifecycle.converter import data_converter
from mailflip.lifecycle.watchdog import ensure_watchdog
from mailflip.lifecycle.worker import make_worker

from .devserver import DevServer


@dataclass
class Running:
    server: DevServer
    client: Client
    composition: Composition


def dev_server(settings: Settings, data_dir: Path, port: int, ui_port: int) -> DevServer:
    return DevServer(data_dir=data_dir, port=port, ui_port=ui_port,
                     namespace=settings.temporal_namespace)


@asynccontextmanager
async def local_stack(settings: Settings, server: DevServer, composition: Composition,
                      m365: Any = None) -> AsyncIterator[Running]:
    """Start `server` (unless started already), wait for it, serve the local Microsoft
    365 `m365` (a LocalM365, if given), run a worker with `composition`'s adapters;
    yield. The caller closes `composition`."""
    from .m365 import serving

    if server.proc is None:
        server.start()
    try:
        async with serving(m365) if m365 is not None else nullcontext():
            await server.wait_ready()
            client = await Client.connect(server.address, namespace=server.namespace,
                                          data_converter=data_converter())
            async with make_worker(client, settings.task_queue, composition.adapters,
                                   interceptors=composition.interceptors):
                await ensure_watchdog(client, settings.task_queue)
                yield Running(server, client, composition)
    finally:
        server.stop()
