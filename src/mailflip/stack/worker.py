"""Running a worker: how to reach the Temporal cluster, serve until stopped, and stop
on a signal. The adapters come from the composition root (mailflip.compose)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from datetime import timedelta

from temporalio.client import Client

from mailflip.compose import Composition
from mailflip.config import Settings
from mailflip.errors import InvalidInput
from mailflip.lifecycle.converter import data_converter
from mailflip.lifecycle.watchdog import ensure_watchdog
from mailflip.lifecycle.worker import freeze_startup_heap, make_pass_worker, make_worker


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
        data_converter=data_converter(settings.payload_keyring()),
    )


def worker_queue(settings: Settings, passes_only: bool) -> str:
    """The task queue a worker serves: the pass queue for a pass worker (which needs one)."""
    if not passes_only:
        return settings.task_queue
    if not settings.pass_task_queue:
        raise InvalidInput("MAILFLIP_PASS_TASK_QUEUE", "set it to run a pass worker "
                           "(and on the workers that start orders)")
    return settings.pass_task_queue


async def serve(client: Client, settings: Settings, composition: Composition,
                stop: asyncio.Event, passes_only: bool = False) -> None:
    """Run a worker on the settings' task queue until `stop` is set, then shut it down:
    running sync passes hand over to another worker (they stop at their next progress
    step and retry a second later); other activities get `worker_shutdown_grace_seconds`
    to finish, then are cancelled and Temporal retries them elsewhere.
    `passes_only`: a worker for sync passes alone, on `pass_task_queue`."""
    grace = timedelta(seconds=settings.worker_shutdown_grace_seconds)
    a = composition.adapters
    queue = worker_queue(settings, passes_only)
    if passes_only:
        worker = make_pass_worker(client, queue, a.mover, a.mirror,
                                  interceptors=composition.interceptors,
                                  graceful_shutdown_timeout=grace)
    else:
        worker = make_worker(client, queue, a,
                             interceptors=composition.interceptors,
                             graceful_shutdown_timeout=grace)
    freeze_startup_heap()
    async with worker, agents_api(settings, composition, passes_only):
        if not passes_only:
            await ensure_watchdog(client, settings.task_queue)
        await stop.wait()


def agents_api(settings: Settings, composition: Composition, passes_only: bool = False,
               command: str = "mailflip worker", option: str = "MAILFLIP_AGENTS_LISTEN"
               ) -> contextlib.AbstractAsyncContextManager[None]:
    """The desktop agents' API on MAILFLIP_AGENTS_LISTEN, when this worker serves it; a
    taken port is refused naming `command`'s `option`."""
    if passes_only or settings.agents != "api" or not settings.agents_listen:
        return contextlib.nullcontext()
    from mailflip.agents.api import agents_app
    from mailflip.localnet import host_port
    from mailflip.webserve import serving

    host, port = host_port(settings.agents_listen, "MAILFLIP_AGENTS_LISTEN")
    return serving(agents_app(composition.store, settings.agents_poll_seconds), host, port,
                   what="the desktop agents' API", command=command, option=option)


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


# set by `mailflip up` for its own process only: the API it serves, not a joining worker's
NOT_SHARED = frozenset({"agents_listen"})


def worker_env(settings: Settings, base: Settings, temporal_address: str) -> dict[str, str]:
    """The settings a `mailflip worker` needs to join `mailflip up` (its env file): those
    `up` derived for its local stand-ins (`settings` where they differ from `base`, the
    ones read from the environment) and its dev server's address. Secrets are never
    written: a worker gets those from its environment, as `up` did."""
    from pydantic import SecretStr

    env = {"MAILFLIP_TEMPORAL_ADDRESS": temporal_address}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if name in NOT_SHARED or isinstance(value, SecretStr) or value == getattr(base, name):
            continue
        if isinstance(value, os.PathLike):  # a worker may start in another directory
            value = os.path.abspath(value)
        env[f"MAILFLIP_{name.upper()}"] = ("true" if value else "false") \
            if isinstance(value, bool) else str(value)
    return env


def write_worker_env(path: os.PathLike[str] | str, env: dict[str, str]) -> None:
    """`env` as a dotenv file (`mailflip worker --env-file PATH`), readable by its owner."""
    from pathlib import Path

    lines = ["# written by `mailflip up`: run more workers beside it with",
             "#   mailflip worker --env-file " + str(path),
             "# (secrets such as MAILFLIP_SECRET_KEY come from the environment, never here)"]
    lines += [f"{k}={json.dumps(v)}" for k, v in sorted(env.items())]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(target)
