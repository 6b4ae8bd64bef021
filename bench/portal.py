"""The portal under load, against a static file server serving the same pages.

`mailflip up --world examples/worlds/demo.yaml` (Temporal dev server, worker and portal
in one process, as a partner runs it; the world simulated, its clock sped up by
MAILFLIP_TIME_SCALE so the orders move) runs ``--orders`` orders (20), created and
placed through the REST API. Then ``--users`` (50) signed-in users, concurrently, each
with a live stream (server-sent events) open on an order page, browse for
``--seconds`` (20): the orders list, then an order page, over and over. Meanwhile the
bench moves a random order's cutover every second (as support, through the API) and
times how long each open stream of that order takes to show the new cutover.

Printed per round and as the median of ``--rounds`` (3) rounds with the spread:

* **page p95**: the 95th percentile of a page's time (request sent to the whole body in);
* **floor p95**: the same pages, saved once, served by `python -m http.server` to the
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from mailflip.localnet import free_port
from mailflip.stack.demo_order import DEMO_ORDER_YAML

ROOT = Path(__file__).resolve().parent.parent
MAILFLIP = str(Path(sys.prefix) / "bin" / "mailflip")
SCALE = 2000  # a 7-day cutover in about 5 minutes: the orders move while the bench runs


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


class Up:
    """`mailflip up --world demo` in the background on free ports."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def signed_in(base: str, password: str) -> tuple[httpx.AsyncClient, str]:
    """A support session and its CSRF token (for the API's changes)."""
    c = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=True)
    await c.get("/login")
    r = await c.post("/login", data={"email": "support@mailflip.local", "password": password,
                                     "csrf": c.cookies.get("mf_login_csrf") or ""})
    found = re.search(r'name="csrf" value="([^"]+)"', r.text)
    if r.status_code != 200 or found is None:
        raise SystemExit(f"portal bench: sign-in failed ({r.status_code})")
    return c, found.group(1)


async def make_orders(base: str, password: str, n: int) -> list[str]:
    c, csrf = await signed_in(base, password)
    order = yaml.safe_load(DEMO_ORDER_YAML)["order"]
    order["cutover"] = "+7d"
    ids = []
    async with c:
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


async def browse(base: str, password: str, ids: list[str], user: int, times: list[float],
                 watch: Watch, stop: asyncio.Event) -> None:
    c, _ = await signed_in(base, password)
    async with c:
        mine = ids[user % len(ids)]
        live = asyncio.create_task(stream(c, mine, user, watch, stop))
        rnd = random.Random(user)
        while not stop.is_set():
            for path in ("/orders", f"/orders/{rnd.choice(ids)}"):
                t0 = time.monotonic()
                r = await c.get(path)
                if r.status_code != 200:
                    raise SystemExit(f"portal bench: {path}: {r.status_code}")
                times.append(time.monotonic() - t0)
        live.cancel()


async def mover(base: str, password: str, ids: list[str], watch: Watch,
                stop: asyncio.Event) -> None:
    """Every second, a watched order's cutover moves; its streams must show it."""
    from zoneinfo import ZoneInfo

    c, csrf = await signed_in(base, password)
    rnd = random.Random(7)
    async with c:
        while not stop.is_set():
            await asyncio.sleep(1.0)  # the pace of the changes, not a wait for state
            oid = rnd.choice(ids)
            users = set(watch.viewers.get(oid, set()))
            if not users or oid in watch.pending and watch.pending[oid][2]:
                continue
            day = rnd.randint(6, 9)
            at = datetime.now(UTC).replace(second=0, microsecond=0,
                                           minute=rnd.randint(0, 59)) + timedelta(days=day)
            r = await c.post(f"/api/orders/{oid}/cutover", json={"cutover": at.isoformat()},
                             headers={"X-CSRF-Token": csrf})
            if r.status_code == 200:
                shown = at.astimezone(ZoneInfo("Europe/London")).strftime(
                    "%a %d %b %Y %H:%M %Z")
                watch.pending[oid] = (shown, time.monotonic(), users)


async def load(base: str, password: str, ids: list[str], users: int, seconds: float
               ) -> tuple[list[float], list[float]]:
    times: list[float] = []
    watch = Watch()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(browse(base, password, ids, u, times, watch, stop))
             for u in range(users)]
    tasks.append(asyncio.create_task(mover(base, password, ids, watch, stop)))
    await asyncio.sleep(seconds)  # the round's length
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=False)
    return times, watch.latencies


async def static_floor(pages: dict[str, str], users: int, seconds: float) -> list[float]:
    """The same pages' bytes from `python -m http.server`, same users, same time."""
    root = Path(tempfile.mkdtemp(prefix="mailflip-portal-floor-"))
    for name, html in pages.items():
        (root / name).write_text(html)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(root)],
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

        async def one() -> None:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
                while not stop.is_set():
                    for name in pages:
                        t0 = time.monotonic()
                        (await c.get(f"/{name}")).raise_for_status()
                        times.append(time.monotonic() - t0)

        tasks = [asyncio.create_task(one()) for _ in range(users)]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(root, ignore_errors=True)
    return times


async def saved_pages(base: str, password: str, order_id: str) -> dict[str, str]:
    c, _ = await signed_in(base, password)
    async with c:
        return {"orders.html": (await c.get("/orders")).text,
                "order.html": (await c.get(f"/orders/{order_id}")).text}


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="mailflip-portal-bench-", dir="/var/tmp"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLIP_")}
    env.update({"MAILFLIP_DATABASE_URL": f"sqlite:///{work}/mailflip.db",
                "MAILFLIP_TEMPORAL_ADDRESS": f"localhost:{free_port()}",
                "MAILFLIP_TIME_SCALE": str(SCALE)})
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
        base = f"http://127.0.0.1:{up.portal_port}"
        log(f"creating and placing {args.orders} orders")
        ids = await make_orders(base, password, args.orders)
        for i in range(args.rounds):
            log(f"round {i + 1} of {args.rounds}: {args.users} users, {args.seconds:.0f} s")
            times, latencies = await load(base, password, ids, args.users, args.seconds)
            floor = await static_floor(await saved_pages(base, password, ids[0]),
                                       args.users, args.seconds)
            r = {"round": i + 1, "orders": len(ids), "users": args.users,
                 "pages": len(times), "page_p95_ms": round(p95(times) * 1000, 1),
                 "page_median_ms": round(statistics.median(times) * 1000, 1),
                 "floor_p95_ms": round(p95(floor) * 1000, 1),
                 "updates": len(latencies),
                 "update_p95_ms": round(p95(latencies) * 1000, 1) if latencies else None,
                 "date": f"{datetime.now(UTC):%Y-%m-%d}", "host": platform.node(),
                 "cpus": os.cpu_count()}
            print(json.dumps(r), flush=True)
            rounds.append(r)
    finally:
        up.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return rounds


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms ({min(values):.0f}-{max(values):.0f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--orders", type=int, default=20)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=3)
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
    print(f"\n{args.users} users, {args.orders} orders, {len(rounds)} rounds of "
          f"{args.seconds:.0f} s (median, spread):")
    print(f"  page p95     {spread(page)}   aim < 200 ms: "
          f"{'met' if statistics.median(page) < 200 else 'NOT met'}")
    print(f"  floor p95    {spread(floor)}   (static server, same pages, same users)")
    print(f"  page/floor   {statistics.median(page) / max(statistics.median(floor), 0.1):.1f}x")
    if upd:
        print(f"  update p95   {spread(upd)}   (cutover changed -> every open stream shows it)")


if __name__ == "__main__":
    main()
