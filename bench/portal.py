"""The portal under load, against a static file server serving the same pages.

`mailflip up --world examples/worlds/demo.yaml` (Temporal dev server and worker; the
world simulated, its clock sped up by MAILFLIP_TIME_SCALE so the orders move) runs
``--orders`` orders (20), created and placed through the REST API of a `mailflip portal`
process beside it (``--portal up``: the portal inside `mailflip up`, which shares its
event loop with the worker). Then ``--users`` (50) signed-in users, concurrently, each
with a live stream (server-sent events) open on an order page, browse for
``--seconds`` (20): the orders list, then an order page, over and over, reading each
for ``--think`` seconds on average (1; uniform between half and one and a half of it;
0 makes it a flood, not people). Meanwhile the
bench moves a random order's cutover every second (as support, through the API) and
times how long each open stream of that order takes to show the new cutover.

Printed per round and as the median of ``--rounds`` (3) rounds with the spread:

* **page p95**: the 95th percentile of a page's time (request sent to the whole body in);
* **floor p95**: the same pages, saved once, served by a static file server (uvicorn
  with Starlette's StaticFiles: the portal's HTTP stack without the app; Python's
  `http.server`, with its listen backlog of 5, drops connections under 50 users) to the
  same users in the same round: what serving those bytes costs at all on this machine;
* **update p95**: from the cutover change accepted by the API to the order's streams
  carrying it (the worker mirrors the change to the store; each stream looks at the
  store every second, web/app.py LIVE_EVERY_S).

Aim (issue 11): page p95 under 200 ms on the 2-core machine.

Usage::

    .venv/bin/python bench/portal.py
    .venv/bin/python bench/portal.py --orders 5 --users 10 --seconds 5 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from mailflip.localnet import free_port
from mailflip.stack.demo_order import DEMO_ORDER_YAML

ROOT = Path(__file__).resolve().parent.parent
MAILFLIP = str(Path(sys.prefix) / "bin" / "mailflip")
# the orders' clock: at 200 a 7-day cutover is 50 minutes away, so the orders work through
# their first background tasks and domain polls while the bench runs (2000: five minutes,
# a far busier worker than 20 real orders ever make)
SCALE = 200


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


class Up:
    """`mailflip up --world demo` in the background on free ports."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.portals: list[subprocess.Popen[bytes]] = []  # `mailflip portal` beside it
        self.portal_port = free_port()
        self.log = work / "up.out"
        args = ["up", "--world", str(ROOT / "examples/worlds/demo.yaml"),
                "--port", env["MAILFLIP_TEMPORAL_ADDRESS"].rsplit(":", 1)[1],
                "--ui-port", str(free_port()), "--data-dir", str(work / "var"),
                "--portal-port", str(self.portal_port)]
        for opt in ("--m365-port", "--m365-imap-port", "--smtp-port", "--dns-port",
                    "--agents-port", "--source-port"):
            args += [opt, str(free_port())]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([MAILFLIP, *args], env=env, cwd=work, stdout=out,
                                         stderr=subprocess.STDOUT)

    def support_password(self) -> str | None:
        if self.proc.poll() is not None:
            raise SystemExit(f"portal bench: mailflip up exited:\n{self.log.read_text()}")
        text = self.log.read_text()
        if "Ctrl-C stops everything" not in text:
            return None
        found = re.search(r"support\s+support@mailflip\.local\s+password (\S+)", text)
        return found.group(1) if found else None

    def stop(self) -> None:
        for proc in (*self.portals, self.proc):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(90)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def own_portal(self, env: dict[str, str], work: Path) -> int:
        """A `mailflip portal` process beside the stack (the production shape): its port."""
        port = free_port()
        out = (work / "portal.out").open("w")
        self.portals.append(subprocess.Popen([MAILFLIP, "portal", "--port", str(port)],
                                             env=env, cwd=work, stdout=out,
                                             stderr=subprocess.STDOUT))
        return port


@contextlib.asynccontextmanager
async def signed_in(base: str, password: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A support session and its CSRF token (for the API's changes)."""
    c = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=True)
    await c.get("/login")
    r = await c.post("/login", data={"email": "support@mailflip.local", "password": password,
                                     "csrf": c.cookies.get("mf_login_csrf") or ""})
    found = re.search(r'name="csrf" value="([^"]+)"', r.text)
    if r.status_code != 200 or found is None:
        raise SystemExit(f"portal bench: sign-in failed ({r.status_code})")
    try:
        yield c, found.group(1)
    finally:
        await c.aclose()


async def make_orders(base: str, password: str, n: int) -> list[str]:
    order = yaml.safe_load(DEMO_ORDER_YAML)["order"]
    order["cutover"] = "+7d"
    ids = []
    async with signed_in(base, password) as (c, csrf):
        for i in range(n):
            r = await c.post("/api/orders", json={**order, "customer": f"Customer {i:02d}"},
                             headers={"X-CSRF-Token": csrf})
            if r.status_code != 201:
                raise SystemExit(f"portal bench: creating an order: {r.status_code} {r.text}")
            oid = r.json()["order_id"]
            r = await c.post(f"/api/orders/{oid}/place", headers={"X-CSRF-Token": csrf})
            if r.status_code != 200:
                raise SystemExit(f"portal bench: placing {oid}: {r.text}")
            ids.append(oid)
    return ids


class Watch:
    """Open streams per order, and the cutover changes waiting to be seen."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[str, float, set[int]]] = {}  # order -> (text, t0, users)
        self.latencies: list[float] = []
        self.viewers: dict[str, set[int]] = {}


async def stream(c: httpx.AsyncClient, order_id: str, user: int, watch: Watch,
                 stop: asyncio.Event) -> None:
    watch.viewers.setdefault(order_id, set()).add(user)
    try:
        async with c.stream("GET", f"/orders/{order_id}/events", timeout=None) as r:
            data: list[str] = []
            async for line in r.aiter_lines():
                if stop.is_set():
                    return
                if line.startswith("data: "):
                    data.append(line[6:])
                elif not line and data:
                    html, data = "\n".join(data), []
                    due = watch.pending.get(order_id)
                    if due and user in due[2] and due[0] in html:
                        watch.latencies.append(time.monotonic() - due[1])
                        due[2].discard(user)
    finally:
        watch.viewers[order_id].discard(user)


async def think(rnd: random.Random, mean_s: float) -> None:
    """A person reading the page before the next click (uniform, mean `mean_s`)."""
    if mean_s > 0:
        await asyncio.sleep(rnd.uniform(0.5 * mean_s, 1.5 * mean_s))


async def browse(c: httpx.AsyncClient, ids: list[str], user: int, times: list[float],
                 watch: Watch, stop: asyncio.Event, mean_s: float) -> None:
    live = asyncio.create_task(stream(c, ids[user % len(ids)], user, watch, stop))
    rnd = random.Random(user)
    await think(rnd, mean_s)  # people do not all click at the same instant
    while not stop.is_set():
        for path in ("/orders", f"/orders/{rnd.choice(ids)}"):
            t0 = time.monotonic()
            r = await c.get(path)
            if r.status_code != 200:
                raise SystemExit(f"portal bench: {path}: {r.status_code}")
            times.append(time.monotonic() - t0)
            await think(rnd, mean_s)
    live.cancel()


async def mover(c: httpx.AsyncClient, csrf: str, ids: list[str], watch: Watch,
                stop: asyncio.Event) -> None:
    """Every second, a watched order's cutover moves; its streams must show it."""
    from zoneinfo import ZoneInfo

    rnd = random.Random(7)
    while not stop.is_set():
        await asyncio.sleep(1.0)  # the pace of the changes, not a wait for state
        oid = rnd.choice(ids)
        users = set(watch.viewers.get(oid, set()))
        if not users or oid in watch.pending and watch.pending[oid][2]:
            continue
        at = datetime.now(UTC).replace(second=0, microsecond=0, minute=rnd.randint(0, 59)) \
            + timedelta(days=rnd.randint(6, 9))
        r = await c.post(f"/api/orders/{oid}/cutover", json={"cutover": at.isoformat()},
                         headers={"X-CSRF-Token": csrf})
        if r.status_code == 200:
            shown = at.astimezone(ZoneInfo("Europe/London")).strftime("%a %d %b %Y %H:%M %Z")
            watch.pending[oid] = (shown, time.monotonic(), users)


async def load(ids: list[str], sessions: list[httpx.AsyncClient],
               support: tuple[httpx.AsyncClient, str], seconds: float, mean_s: float
               ) -> tuple[list[float], list[float]]:
    """One round: every session browses, `support` moves cutovers (sessions made before,
    so no sign-in and no client set-up runs inside the measured time)."""
    times: list[float] = []
    watch = Watch()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(browse(c, ids, u, times, watch, stop, mean_s))
             for u, c in enumerate(sessions)]
    tasks.append(asyncio.create_task(mover(*support, ids, watch, stop)))
    await asyncio.sleep(seconds)  # the round's length
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=False)
    return times, watch.latencies


async def static_floor(pages: dict[str, str], users: int, seconds: float, mean_s: float
                       ) -> list[float]:
    """The same pages' bytes from a static file server (uvicorn serving Starlette's
    StaticFiles, the portal's own HTTP stack without the app), same users, same time."""
    root = Path(tempfile.mkdtemp(prefix="mailflip-portal-floor-"))
    for name, html in pages.items():
        (root / name).write_text(html)
    port = free_port()
    serve = ("import sys, uvicorn; from starlette.staticfiles import StaticFiles; "
             "uvicorn.run(StaticFiles(directory=sys.argv[1]), host='127.0.0.1', "
             "port=int(sys.argv[2]), log_level='warning')")
    proc = subprocess.Popen([sys.executable, "-c", serve, str(root), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe:
            for _ in range(100):
                try:
                    await probe.get("/orders.html")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)  # the server is starting
        stop = asyncio.Event()
        # made before the clock runs: a client's set-up (its SSL context) takes tens of
        # milliseconds of this loop, which would count in the others' requests
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
                   for _ in range(users)]

        async def one(user: int, c: httpx.AsyncClient) -> None:
            rnd = random.Random(user)
            await think(rnd, mean_s)
            while not stop.is_set():
                for name in pages:
                    t0 = time.monotonic()
                    (await c.get(f"/{name}")).raise_for_status()
                    times.append(time.monotonic() - t0)
                    await think(rnd, mean_s)

        tasks = [asyncio.create_task(one(u, c)) for u, c in enumerate(clients)]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
        for c in clients:
            await c.aclose()
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(root, ignore_errors=True)
    return times


async def saved_pages(base: str, password: str, order_id: str) -> dict[str, str]:
    async with signed_in(base, password) as (c, _):
        return {"orders.html": (await c.get("/orders")).text,
                "order.html": (await c.get(f"/orders/{order_id}")).text}


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="mailflip-portal-bench-", dir="/var/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLIP_")}
    env.update({"MAILFLIP_DATABASE_URL": f"sqlite:///{work}/mailflip.db",
                "MAILFLIP_TEMPORAL_ADDRESS": f"localhost:{free_port()}",
                "MAILFLIP_TIME_SCALE": str(args.time_scale)})
    up = Up(work, env)
    rounds = []
    try:
        end = time.monotonic() + 180
        password = None
        while password is None:
            if time.monotonic() > end:
                raise SystemExit("portal bench: mailflip up did not start in 180 s")
            await asyncio.sleep(0.5)  # polling the start-up banner
            password = up.support_password()
        port = up.portal_port
        if args.portal == "own":
            port = up.own_portal(env, work)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as probe:
            for _ in range(600):
                try:
                    if (await probe.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)  # the portal process is starting
        log(f"creating and placing {args.orders} orders")
        ids = await make_orders(base, password, args.orders)
        log(f"signing in {args.users} users (once: argon2 is slow on purpose)")
        async with contextlib.AsyncExitStack() as stack:
            sessions = [(await stack.enter_async_context(signed_in(base, password)))[0]
                        for _ in range(args.users)]
            support = await stack.enter_async_context(signed_in(base, password))
            pages = await saved_pages(base, password, ids[0])
            for i in range(args.rounds):
                rounds.append(await one_round(args, ids, sessions, support, pages, i))
    finally:
        up.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return rounds


async def one_round(args: argparse.Namespace, ids: list[str],
                    sessions: list[httpx.AsyncClient], support: tuple[httpx.AsyncClient, str],
                    pages: dict[str, str], i: int) -> dict[str, Any]:
    log(f"round {i + 1} of {args.rounds}: {args.users} users, {args.seconds:.0f} s")
    times, latencies = await load(ids, sessions, support, args.seconds, args.think)
    floor = await static_floor(pages, args.users, args.seconds, args.think)
    r = {"round": i + 1, "orders": len(ids), "users": args.users, "pages": len(times),
         "page_p95_ms": round(p95(times) * 1000, 1),
         "page_median_ms": round(statistics.median(times) * 1000, 1),
         "floor_p95_ms": round(p95(floor) * 1000, 1), "updates": len(latencies),
         "update_p95_ms": round(p95(latencies) * 1000, 1) if latencies else None,
         "date": f"{datetime.now(UTC):%Y-%m-%d}", "host": platform.node(),
         "think_s": args.think, "portal": args.portal, "time_scale": args.time_scale,
         "cpus": os.cpu_count()}
    print(json.dumps(r), flush=True)
    return r


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--orders", type=int, default=20)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--portal", choices=("own", "up"), default="own",
                    help="own: a `mailflip portal` process beside `mailflip up` (the "
                    "production shape); up: the portal inside `mailflip up`, sharing its "
                    "event loop with the worker")
    ap.add_argument("--time-scale", type=float, default=SCALE,
                    help="MAILFLIP_TIME_SCALE of the stack (how fast the orders move)")
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean seconds a user reads a page before the next (0: none)")
    ap.add_argument("--out", help="append the rounds' JSON lines to bench/results/OUT")
    ap.add_argument("--keep", action="store_true", help="keep the stack's directory")
    args = ap.parse_args()
    rounds = asyncio.run(run(args))
    if args.out:
        (ROOT / "bench" / "results").mkdir(exist_ok=True)
        with (ROOT / "bench" / "results" / args.out).open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rounds)
    page = [r["page_p95_ms"] for r in rounds]
    floor = [r["floor_p95_ms"] for r in rounds]
    upd = [r["update_p95_ms"] for r in rounds if r["update_p95_ms"] is not None]
    print(f"\n{args.users} users (reading {args.think:g} s per page on average), "
          f"{args.orders} orders, {len(rounds)} rounds of {args.seconds:.0f} s "
          "(median, spread):")
    print(f"  page p95     {spread(page)}   aim < 200 ms: "
          f"{'met' if statistics.median(page) < 200 else 'NOT met'}")
    print(f"  floor p95    {spread(floor)}   (static server, same pages, same users)")
    print(f"  page/floor   {statistics.median(page) / max(statistics.median(floor), 0.1):.1f}x")
    if upd:
        print(f"  update p95   {spread(upd)}   (cutover changed -> every open stream shows it)")


if __name__ == "__main__":
    main()
