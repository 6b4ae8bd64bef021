"""One order's mail through the local stack, against the throttle's limit and mbsync.

An order of ``--mailboxes`` users (10) of ``--messages`` realistic messages each (1,000:
`stack.source.demo_messages`, text with a PDF attached to one in seven) runs on
``mailflip up`` over real protocols, no simulated world: the bench plays the partner
(publishes the TXT record the email asks for), the order's initial passes move the mail
with the real mover from the local source host (Dovecot) into the local Microsoft 365's
mailboxes over its throttled, TLS, XOAUTH2 IMAP front. Measured from the order's own
passes (`mailflip orders show ID --json`: first pass scheduled to last pass ended):

* **mailflip**: the wall time of the order's initial passes, all mailboxes at once;
* **minimum**: what the local Microsoft 365's limits allow for that volume. Its IMAP
  front gives each mailbox a token bucket (``imap_commands_per_s`` with a burst of
  ``imap_command_burst``, `stack.m365.LOCAL_PACE`) and no MULTIAPPEND, so a mailbox of
  M messages needs at least M APPENDs, and (M - burst) / rate seconds; mailboxes have
  buckets of their own, so the order's minimum is the largest mailbox's;
* **mbsync**: the same mailboxes copied from the same source by mbsync (one process per
  mailbox, all at once, as the order runs them) into a Dovecot of the same build and
  configuration as the tenant's, without the front: no throttle, no TLS, password login
  (mbsync has no XOAUTH2 here). It is run before the order is placed, so the two never
  share the source.

Every copy is checked: each mailbox's initial pass moved exactly its messages, and
mbsync's target holds as many as the source. ``--runs`` (3) whole runs, each on a fresh
stack; printed per run, then medians with the spread (min-max) and the ratios
mailflip/minimum and mailflip/mbsync. ``--out NAME`` appends one JSON line per run to
bench/results/NAME.

Usage (Dovecot and mbsync installed, as `make install apt` does)::

    .venv/bin/python bench/lifecycle_real.py
    .venv/bin/python bench/lifecycle_real.py --mailboxes 2 --messages 100 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from peers import Account, mbsync_rc, spread

from mailflip.dns.zones import record, set_record
from mailflip.localnet import free_port
from mailflip.mail.dovecot import DovecotOptions, start_dovecot, stop_dovecot
from mailflip.notify.catcher import caught
from mailflip.stack.m365 import LOCAL_PACE
from mailflip.stack.source import LocalSource, demo_messages

ROOT = Path(__file__).resolve().parent.parent
MAILFLIP = str(Path(sys.prefix) / "bin" / "mailflip")
DOMAIN = "contoso.example"
SCALE = 7200  # the lifecycle's days in seconds: placement to initial passes in ~30 s


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def wait(what: str, check: Any, timeout: float, every: float = 0.5) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise SystemExit(f"lifecycle_real: timed out after {timeout:.0f} s waiting for {what}")


def users(n: int) -> list[str]:
    return [f"user{i:02d}@{DOMAIN}" for i in range(1, n + 1)]


def order_yaml(addresses: list[str], cutover: datetime) -> str:
    order = {
        "partner": "acme-msp", "partner_email": "ops@acme-msp.example",
        "customer": "Contoso Ltd", "poc": {"name": "Pat Doe", "email": f"pat@{DOMAIN}"},
        "time_zone": "Europe/London", "cutover": cutover.isoformat(timespec="seconds"),
        "source": {"kind": "imap", "host": f"mail.{DOMAIN}", "admin_credentials": True},
        "tenant": {"initial_domain": "contoso.onmicrosoft.com"},
        "vanity_domains": [DOMAIN], "settings": {"ssi": True, "rules_and_connectors": False},
        "users": [{"name": a.split("@")[0].title(), "source": a, "target": a,
                   "sku": "O365_BUSINESS_PREMIUM"} for a in addresses]}
    return yaml.safe_dump({"order": order}, sort_keys=False)


def seed(source: Path, port: int, addresses: list[str], count: int
         ) -> dict[str, tuple[int, int]]:
    """Each mailbox's messages appended to the source, by the local source's own seeding
    (one mailbox per thread); {address: (messages, bytes)}."""

    def one(address: str) -> tuple[int, int]:
        LocalSource(source, port, mailboxes={address: count}).seed()
        return count, sum(len(msg) for _, msg, _ in demo_messages(address, count))

    with ThreadPoolExecutor(len(addresses)) as pool:
        return dict(zip(addresses, pool.map(one, addresses), strict=True))


def mbsync_copy(work: Path, src_port: int, password: str, addresses: list[str]
                ) -> tuple[float, dict[str, int]]:
    """mbsync from the source into a fresh Dovecot, one process per mailbox at once:
    (wall seconds, messages per mailbox in the target)."""
    from imapclient import IMAPClient

    target = start_dovecot(DovecotOptions(password="pw", auto_create=True), work / "mbsync-dst")
    try:
        rc = mbsync_rc(work, [(Account(a, src_port, password), Account(a, target.port))
                              for a in addresses])
        began = time.monotonic()
        procs = [subprocess.Popen(["mbsync", "-q", "-c", str(rc), f"ch{i}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for i in range(len(addresses))]
        for p in procs:
            _, error = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"lifecycle_real: mbsync failed: {error.decode()[-500:]}")
        seconds = time.monotonic() - began
        held = {}
        for a in addresses:
            with IMAPClient("127.0.0.1", target.port, ssl=False, timeout=60) as imap:
                imap.login(a, "pw")
                held[a] = sum(imap.folder_status(f[2], [b"MESSAGES"])[b"MESSAGES"]
                              for f in imap.list_folders())
        return seconds, held
    finally:
        stop_dovecot(target)


class Up:
    """`mailflip up` in the background on free ports, its data in `work`/var."""

    def __init__(self, work: Path, env: dict[str, str], port: int) -> None:
        self.var, self.log = work / "var", work / "up.out"
        args = ["up", "--port", str(port), "--ui-port", str(free_port()), "--data-dir",
                str(self.var), "--m365-port", str(free_port()), "--m365-imap-port",
                str(free_port()), "--smtp-port", str(free_port()), "--dns-port",
                str(free_port()), "--agents-port", str(free_port()), "--portal-port",
                str(free_port()), "--source-port",
                str(free_port())]
        self.source_port = int(args[args.index("--source-port") + 1])
        with self.log.open("w") as out:
            self.proc = subprocess.Popen([MAILFLIP, *args], env=env, cwd=work, stdout=out,
                                         stderr=subprocess.STDOUT)

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise SystemExit(f"lifecycle_real: mailflip up exited:\n{self.log.read_text()}")
        return "Ctrl-C stops everything" in self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def mailflip(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([MAILFLIP, *args], env=env, capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"lifecycle_real: mailflip {' '.join(args)}: {done.stderr}")
    return done.stdout


def initial_passes(env: dict[str, str], order_id: str, n: int) -> list[dict[str, Any]] | None:
    """The order's initial passes once every mailbox's has ended (failed: exit)."""
    detail = json.loads(mailflip(env, "orders", "show", order_id, "--json"))
    done = []
    for m in detail["mailboxes"]:
        p = next((p for p in m["passes"] if p["pass"] == "initial"), None)
        if p is None or p["state"] == "running":
            return None
        if p["state"] != "completed":
            raise SystemExit(f"lifecycle_real: {m['address']}'s initial pass {p['state']}: "
                             f"{p['error']}")
        done.append({**p, "address": m["address"]})
    return done if len(done) == n else None


def minimum_s(counts: list[int]) -> float:
    """The throttle-bound minimum of the order's passes (module docstring)."""
    rate, burst = LOCAL_PACE.imap_commands_per_s, LOCAL_PACE.imap_command_burst
    return max(max(0, m - burst) / rate for m in counts)


def when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def one_run(n: int, count: int, keep: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="mailflip-lifecycle-real-", dir="/var/tmp"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLIP_")}
    env.update({"MAILFLIP_DATABASE_URL": f"sqlite:///{work}/mailflip.db",
                "MAILFLIP_TEMPORAL_ADDRESS": f"localhost:{port}",
                "MAILFLIP_TIME_SCALE": str(SCALE),
                "MAILFLIP_VERIFY_INTERVAL_MINUTES": "240"})
    up = Up(work, env, port)
    try:
        wait("mailflip up", up.ready, 180)
        addresses = users(n)
        password = LocalSource(up.var / "source", up.source_port).password()
        log(f"seeding {n} x {count} messages into the source")
        seeded = seed(up.var / "source", up.source_port, addresses, count)
        log("mbsync: the same mailboxes, no throttle")
        mbsync_s, held = mbsync_copy(work, up.source_port, password, addresses)
        if held != {a: c for a, (c, _) in seeded.items()}:
            raise SystemExit(f"lifecycle_real: mbsync's copy differs: {held}")

        log("placing the order")
        order = work / "order.yaml"
        order.write_text(order_yaml(addresses, datetime.now(UTC) + timedelta(minutes=15)))
        order_id = mailflip(env, "orders", "create", str(order)).strip()
        for kind, file in (("tenant", up.var / "m365" / "tenant.yaml"),
                           ("source", up.var / "source" / "source.yaml")):
            mailflip(env, "orders", "credentials", order_id, "--kind", kind, "--file", str(file))
        mailflip(env, "orders", "place", order_id)
        mail = wait("the partner's TXT email", lambda: next(
            (c for c in caught(up.var / "smtp") if "TXT record" in c.subject), None), 120)
        body = mail.message.get_body(("plain",)).get_content()
        value = next(w for w in body.split() if w.startswith("MS=ms"))
        set_record(up.var / "dns", record(DOMAIN, "TXT", value))  # the partner publishes
        log("waiting for the initial passes")
        passes = wait("every mailbox's initial pass", lambda: initial_passes(
            env, order_id, n), 1800, every=1.0)
        for p in passes:
            if p["messages"] != seeded[p["address"]][0]:
                raise SystemExit(f"lifecycle_real: {p['address']}: moved {p['messages']} "
                                 f"of {seeded[p['address']][0]}")
        began = min(when(p["started_at"]) for p in passes)
        ended = max(when(p["ended_at"]) for p in passes)
        mailflip_s = (ended - began).total_seconds()
        floor_s = minimum_s([c for c, _ in seeded.values()])
        return {"mailboxes": n, "messages": n * count,
                "bytes": sum(b for _, b in seeded.values()),
                "mailflip_s": round(mailflip_s, 2), "minimum_s": round(floor_s, 2),
                "mbsync_s": round(mbsync_s, 2),
                "per_mailbox_s": sorted(round((when(p["ended_at"]) - when(p["started_at"]))
                                              .total_seconds(), 2) for p in passes)}
    finally:
        up.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mailboxes", type=int, default=10)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", help="append the runs' JSON lines to bench/results/OUT")
    ap.add_argument("--keep", action="store_true", help="keep each run's directory")
    args = ap.parse_args()
    for tool in ("dovecot", "mbsync"):
        if shutil.which(tool) is None:
            raise SystemExit(f"lifecycle_real: {tool} is not installed (make install apt)")
    runs = []
    for i in range(args.runs):
        log(f"run {i + 1} of {args.runs}")
        r = one_run(args.mailboxes, args.messages, args.keep)
        r.update(run=i + 1, date=f"{datetime.now(UTC):%Y-%m-%d}", host=platform.node(),
                 cpus=os.cpu_count())
        runs.append(r)
        print(json.dumps(r), flush=True)
        if args.out:
            (ROOT / "bench" / "results").mkdir(exist_ok=True)
            with (ROOT / "bench" / "results" / args.out).open("a") as f:
                f.write(json.dumps(r) + "\n")
    mf = [r["mailflip_s"] for r in runs]
    print(f"\n{args.mailboxes} mailboxes x {args.messages} messages "
          f"({runs[0]['bytes'] / 1e6:.0f} MB), {len(runs)} runs: median (min-max)")
    print(f"  mailflip, initial passes through the throttled front  {spread(mf)} s")
    print(f"  minimum the throttle allows ({LOCAL_PACE.imap_commands_per_s:g} commands/s, "
          f"burst {LOCAL_PACE.imap_command_burst})   {spread([r['minimum_s'] for r in runs])} s")
    print(f"  mbsync, same mailboxes, no throttle                   "
          f"{spread([r['mbsync_s'] for r in runs])} s")
    print(f"  mailflip / minimum  {spread([r['mailflip_s'] / r['minimum_s'] for r in runs])}"
          if all(r["minimum_s"] for r in runs) else "  mailflip / minimum  n/a (under the burst)")
    print(f"  mailflip / mbsync   {spread([r['mailflip_s'] / r['mbsync_s'] for r in runs])}")


if __name__ == "__main__":
    main()
