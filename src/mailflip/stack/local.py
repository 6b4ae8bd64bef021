"""`mailflip up` / `demo`: the Temporal dev server, then a worker in this process;
on the way out the worker stops first and the server last."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager, nullcontext
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

SMTP_PORT = 8025


@dataclass(frozen=True)
class LocalSmtp:
    """The local SMTP catcher (`mailflip sim smtp`'s) that `up` and `demo` deliver the
    notifications to when MAILFLIP_NOTIFY is unset: messages kept in `maildir`."""

    maildir: Path
    port: int = SMTP_PORT
    host: str = "127.0.0.1"

    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"notify": "smtp", "smtp_host": self.host,
                                           "smtp_port": self.port})

    @contextmanager
    def serving(self) -> Iterator[None]:
        from mailflip.localnet import ensure_free
        from mailflip.notify.catcher import SmtpCatcher

        ensure_free(self.host, self.port, "mailflip sim smtp", "--smtp-port")
        catcher = SmtpCatcher(self.maildir, self.host, self.port).start()
        try:
            yield
        finally:
            catcher.stop()


@dataclass
class Locals:
    """The local stand-ins `up` and `demo` serve, for the ports configured with none."""

    m365: Any = None  # LocalM365
    dns: Any = None  # stack.dns.LocalDns
    smtp: LocalSmtp | None = None
    agents: Any = None  # stack.agents.LocalAgents
    source: Any = None  # stack.source.LocalSource: the orders' old mail host


@dataclass
class Running:
    server: DevServer
    client: Client
    composition: Composition
    accounts: list[tuple[str, str, str]]  # the portal's seeded (email, role, password)


def dev_server(settings: Settings, data_dir: Path, port: int, ui_port: int) -> DevServer:
    return DevServer(data_dir=data_dir, port=port, ui_port=ui_port,
                     namespace=settings.temporal_namespace,
                     codec_endpoint=settings.public_url.rstrip("/") + "/codec")


@asynccontextmanager
async def local_stack(settings: Settings, server: DevServer, composition: Composition,
                      locals_: Locals | None = None, worker: bool = True
                      ) -> AsyncIterator[Running]:
    """Start `server` (unless started already), wait for it, serve the local stand-ins
    (`locals_`: Microsoft 365, DNS, SMTP) and the portal (its accounts seeded), run a
    worker with `composition`'s adapters
    (`worker`=False: none, `mailflip worker` processes join instead); yield. The caller
    closes `composition`."""
    from .dns import WorldPublisher
    from .m365 import serving, tenant_domains
    from .portal import portal_serving, seed_accounts
    from .worker import agents_api

    here = locals_ or Locals()
    if server.proc is None:
        server.start()
    publisher: asyncio.Task[None] | None = None
    try:
        with ExitStack() as threads:
            if here.smtp is not None:
                threads.enter_context(here.smtp.serving())
            if here.dns is not None:
                threads.enter_context(here.dns.serving())
            if here.source is not None:
                await asyncio.to_thread(threads.enter_context, here.source.serving())
            async with serving(here.m365) if here.m365 is not None else nullcontext() as app:
                world = composition.world  # it plays the partner: publishes its dns:
                if here.dns is not None and world is not None and app is not None:
                    publisher = asyncio.create_task(WorldPublisher(
                        world, here.dns.zones, lambda: tenant_domains(app)).run())
                await server.wait_ready()
                client = await Client.connect(server.address, namespace=server.namespace,
                                              data_converter=data_converter(
                                                  settings.payload_keyring()))
                async with make_worker(client, settings.task_queue, composition.adapters,
                                       interceptors=composition.interceptors) \
                        if worker else nullcontext(), \
                        agents_api(settings, composition, command="mailflip up",
                                   option="--agents-port"), \
                        here.agents.pcs(settings, composition.store) \
                        if here.agents is not None else nullcontext(), \
                        portal_serving(settings, composition.store, server.ui_url, client):
                    if worker:  # else the joining workers start it
                        await ensure_watchdog(client, settings.task_queue)
                    accounts = await asyncio.to_thread(seed_accounts, composition.store)
                    yield Running(server, client, composition, accounts)
    finally:
        if publisher is not None:
            publisher.cancel()
        server.stop()
