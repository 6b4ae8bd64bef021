"""Create Mailboxes against the local Microsoft 365 with its default throttling and
delays: requests per user and time, against the minimum the simulator's own limits imply.

For each case (1, 100, 1,000 users by default) the real adapter (GraphTenant) creates
the users on the initial domain, licenses them and grants MigrationApp FullAccess, as
the Create Mailboxes activity does; a `TenantNotReady` is retried after the delay it
names, as Temporal's retry policy does. The simulator runs in process on a manual clock:
every wait (Retry-After, replication, mailbox provisioning) moves that clock instead of
sleeping, so "tenant time" is what the same work would take against a tenant with these
limits, and "cpu" is the real time the run took on this machine.

The minimum is what no adapter can beat for this work under these limits: each user
needs one create and one licence assignment (1 directory resource unit each) and one
FullAccess grant (1 Exchange unit), plus one read of the SKUs (3 units); the token
buckets start full and refill at their rate; a licensed mailbox appears only after the
provisioning delay. So minimum = max(provisioning delay, directory units beyond the
bucket / refill rate, Exchange units beyond the bucket / refill rate). The aim is
(tenant time + cpu) / minimum <= 1.2.

Usage::

    .venv/bin/python bench/tenant.py                       # 1, 100, 1000 users, 3 runs
    .venv/bin/python bench/tenant.py --cases 10,100 --repeat 1 --out tenant-2026-12-03.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mailflip.errors import TenantNotReady  # noqa: E402
from mailflip.tenant.auth import FormTokenSource, TenantCredentials  # noqa: E402
from mailflip.tenant.graph import GraphTenant  # noqa: E402
from mailflip.tenant.permissions import EXCHANGE_PERMISSIONS, GRAPH_PERMISSIONS  # noqa: E402
from mailflip.tenant.port import MailboxToCreate, TenantRef  # noqa: E402
from mailflip.tenant.simulator import (  # noqa: E402
    AppConfig,
    Knobs,
    ManualClock,
    SimulatorConfig,
    SkuConfig,
    TenantConfig,
    create_app,
)

BASE = "https://m365.bench"
INITIAL = "contoso.onmicrosoft.com"
CLIENT_ID, SECRET = "0b0b0b0b-0000-4000-8000-000000000001", "bench-secret"
SKU_ID = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"
AIM = 1.2


class Counting(httpx.AsyncBaseTransport):
    """The ASGI transport, counting HTTP requests and the items inside `$batch`es."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.http = 0
        self.graph_items = 0
        self.exo = 0
        self.tokens = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.http += 1
        path = request.url.path
        if path.endswith("/$batch"):
            self.graph_items += len(json.loads(request.content)["requests"])
        elif path.startswith("/v1.0/"):
            self.graph_items += 1
        elif path.endswith("/InvokeCommand"):
            self.exo += 1
        else:
            self.tokens += 1
        return await self.inner.handle_async_request(request)


@dataclass
class Run:
    users: int
    attempts: int
    http: int
    graph_items: int
    exo: int
    tenant_s: float
    cpu_s: float
    minimum_s: float
    waits: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return (self.tenant_s + self.cpu_s) / self.minimum_s


def minimum_s(users: int, knobs: Knobs) -> float:
    if users == 0:
        return 0.0
    directory = 2 * users + 3
    exchange = users
    rate, capacity = knobs.bucket_refill_per_s, knobs.bucket_capacity
    bound = [knobs.mailbox_delay_s]
    if rate > 0:
        bound += [max(0.0, directory - capacity) / rate, max(0.0, exchange - capacity) / rate]
    return max(bound)


async def one_run(users: int, knobs: Knobs) -> Run:
    clock = ManualClock()
    app_config = AppConfig(CLIENT_ID, SECRET, graph_permissions=GRAPH_PERMISSIONS,
                           exchange_permissions=EXCHANGE_PERMISSIONS)
    tenant = TenantConfig("7e7e7e7e-0000-4000-8000-00000000be0c", INITIAL,
                          skus=(SkuConfig("O365_BUSINESS_PREMIUM", SKU_ID, users + 10),),
                          apps=(app_config,))
    app = create_app(SimulatorConfig((tenant,), knobs, clock=clock))
    counting = Counting(httpx.ASGITransport(app=app))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # Retry-After inside an attempt
        waits.append(seconds)
        clock.advance(seconds)

    async def creds(t: TenantRef) -> TenantCredentials:
        return TenantCredentials(INITIAL, CLIENT_ID, SECRET)

    ref = TenantRef("bench", INITIAL)
    items = [MailboxToCreate(f"user{i:05d}@contoso.example", f"User {i}",
                             on_initial_domain=True) for i in range(users)]
    async with httpx.AsyncClient(transport=counting, base_url=BASE) as http:
        adapter = GraphTenant(creds, login_url=BASE, graph_url=BASE, exo_url=BASE, http=http,
                              tokens=FormTokenSource(creds, http, BASE, clock=clock),
                              sleep=sleep)
        await adapter.setup(ref, [])  # MigrationApp: Setup Office 365 Account, not timed
        counting.http = counting.graph_items = counting.exo = counting.tokens = 0
        start_clock, start_cpu = clock.now, time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            try:
                result = await adapter.create_mailboxes(ref, items)
                break
            except TenantNotReady as exc:  # Temporal's retry, after the delay it names
                waits.append(exc.retry_after_s)
                clock.advance(exc.retry_after_s)
        cpu = time.perf_counter() - start_cpu
    failed = {a: e for a, e in result.items() if e}
    if failed:
        raise SystemExit(f"{len(failed)} mailboxes failed, e.g. {next(iter(failed.items()))}")
    return Run(users, attempts, counting.http, counting.graph_items, counting.exo,
               clock.now - start_clock, cpu, minimum_s(users, knobs), waits)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="1,100,1000", help="comma list of user counts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="also append the JSON lines to bench/results/OUT")
    args = parser.parse_args()
    knobs = Knobs()  # the simulator's defaults: realistic throttling and delays
    rows = []
    lines = []
    for users in (int(c) for c in args.cases.split(",")):
        runs = [asyncio.run(one_run(users, knobs)) for _ in range(args.repeat)]
        for number, run in enumerate(runs, 1):
            record = {"users": users, "run": number, "attempts": run.attempts,
                      "http_requests": run.http, "graph_requests": run.graph_items,
                      "exo_calls": run.exo, "tenant_s": round(run.tenant_s, 1),
                      "cpu_s": round(run.cpu_s, 3), "minimum_s": run.minimum_s,
                      "ratio": round(run.ratio, 3), "aim": AIM,
                      "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
            lines.append(json.dumps(record))
            print(json.dumps(record), flush=True)
        per_user = [(r.graph_items + r.exo) / users for r in runs]
        ratios = [r.ratio for r in runs]
        rows.append((users, spread(per_user), spread([r.http / users for r in runs]),
                     spread([r.tenant_s for r in runs]), spread([r.cpu_s for r in runs]),
                     f"{runs[0].minimum_s:.0f}", spread(ratios),
                     "ok" if statistics.median(ratios) <= AIM else f"OVER AIM {AIM}"))
    print("\n| users | Graph+EXO requests/user | HTTP requests/user | tenant time s | "
          "cpu s | minimum s | (tenant+cpu)/minimum | |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    if args.out:
        with (REPO / "bench" / "results" / args.out).open("a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
