"""The worker's composition root: which adapters serve the activities, and how to
reach the Temporal cluster. `mailflip worker`, `up` and `demo` all start here."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client

from mailflip.config import Settings
from mailflip.lifecycle.converter import data_converter
from mailflip.lifecycle.worker import Adapters, make_worker
from mailflip.notify.outbox import OutboxNotifier, Outgoing
from mailflip.store import SqlStore, create_store
from mailflip.store.sql_mirror import SqlMirror

from .world import LiveWorld, LiveWorldSpec, demo_world, load_world


@dataclass
class Composition:
    adapters: Adapters
    store: SqlStore
    world: LiveWorldSpec

    def close(self) -> None:
        self.store.close()


def compose(settings: Settings, world_file: Path | None = None) -> Composition:
    """THE place that picks adapters: for now the simulated world on the wall clock
    (tenant, DNS, agents, SMTP, mail) and the SQL store as the mirror."""
    spec = load_world(world_file) if world_file is not None else demo_world()
    world = LiveWorld(spec)
    store = create_store(settings.database_url)
    async def to_world(out: Outgoing) -> None:  # the simulated SMTP host receives it
        await world.send("", out.key, "", out.to, {"subject": out.subject})

    adapters = Adapters(tenant=world, dns=world, agents=world,
                        notifier=OutboxNotifier(store, to_world), mover=world,
                        mirror=SqlMirror(store), faults=world)
    return Composition(adapters, store, spec)


async def connect(settings: Settings, address: str | None = None) -> Client:
    """A client for the cluster in the settings (MAILFLIP_TEMPORAL_*): TLS when
    MAILFLIP_TEMPORAL_TLS=true, and automatically with an API key (Temporal Cloud)."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key \
        else None
    return await Client.connect(
        address or settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key or None,
        tls=True if settings.temporal_tls else None,
        data_converter=data_converter(),
    )


async def serve(client: Client, settings: Settings, adapters: Adapters,
                stop: asyncio.Event) -> None:
    """Run a worker on the settings' task queue until `stop` is set, then shut it down
    (activities in flight are cancelled; Temporal retries them on another worker)."""
    async with make_worker(client, settings.task_queue, adapters):
        await stop.wait()


def stop_on_signals() -> asyncio.Event:
    """An event set by the first SIGINT/SIGTERM; a second one exits at once."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def handle() -> None:
        if stop.is_set():
            os._exit(130)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handle)
    return stop
