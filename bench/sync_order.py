"""One small business's order of mail: mailflip sync-batch against mbsync and the limit.

``--mailboxes`` (50) source mailboxes of ``--messages`` (200) realistic messages each (the
shared ``gen_mailbox.py``, seeds 1..N: 10 folders, non-ASCII names, flags, dates,
attachments) on one local Dovecot, copied three ways into fresh mailboxes of the same
Dovecot, ``--concurrency`` (8) mailboxes at a time:

* **mailflip**: ``mailflip sync-batch FILE.csv --concurrency 8`` (one process, its
  defaults otherwise; the connection caps are raised to what 8 mailboxes at once need,
  since source and target are one host here: ``--per-host``/``--max-connections``);
* **mbsync**: the same 50 channels, one ``mbsync`` process per mailbox, 8 at a time;
* **limit**: Dovecot's own ``doveadm import`` of each source Maildir, 8 at a time: no
  IMAP at all, the fastest anything can fill this server.

Every mailflip copy is verified with the shared ``verify.py`` (folders, counts,
Message-IDs, flags) and the run fails on any mismatch; mbsync's copies are verified too
(a mismatch there is reported, as the shared comparison does). ``--runs`` (3) rounds in
one invocation, the three peers in a rotating order; printed per run, then medians with
the spread (min-max): mailflip/mbsync (mbsync's time over mailflip's) and the fraction
of the limit reached (the limit's time over mailflip's). ``--out NAME`` appends one JSON
line per run to bench/results/NAME.

Usage (as root, Dovecot and mbsync installed, as ``make install apt`` does)::

    .venv/bin/python bench/sync_order.py
    .venv/bin/python bench/sync_order.py --mailboxes 4 --messages 20 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peers import Account, mbsync_rc, spread

from mailflip.mail.dovecot import DovecotOptions, DovecotServer, start_dovecot, stop_dovecot

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
MAILFLIP = str(Path(sys.prefix) / "bin" / "mailflip")
SHARED = Path(os.environ.get("SYNCBENCH_DIR", ROOT.parent / "shared" / "bench"))
AIM = 0.85  # issue 12: mailflip reaches >= 0.85 of the limit


def log(msg: str) -> None:
    print(f"[sync_order] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], what: str) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"sync_order: {what} failed (exit {out.returncode}): "
                         f"{(out.stderr or out.stdout)[-800:]}")
    return out.stdout


def home(server: DovecotServer, user: str) -> Path:
    """A user's mail home, made for the mail user (the static userdb serves any name)."""
    path = server.base / "mail" / user
    path.mkdir(parents=True, exist_ok=True)
    shutil.chown(path, server.mail_user, server.mail_user)
    return path


def at_once(n: int, jobs: list[Callable[[], Any]]) -> float:
    """Run the jobs n at a time; wall seconds."""
    began = time.monotonic()
    with ThreadPoolExecutor(n) as pool:
        for job in [pool.submit(j) for j in jobs]:
            job.result()
    return time.monotonic() - began


def seed(server: DovecotServer, sources: list[str], messages: int) -> int:
    """Generate every source mailbox (one seed each) and warm its indexes; total bytes."""
    def one(i: int, user: str) -> int:
        maildir = home(server, user) / "Maildir"
        summary = json.loads(run([sys.executable, str(SHARED / "gen_mailbox.py"), "-n",
                                  str(messages), "--seed", str(i + 1), "--maildir", str(maildir),
                                  "--owner", server.mail_user], "gen_mailbox.py"))
        server.doveadm("mailbox", "status", "-u", user, "messages", "*")
        return int(summary["bytes"])

    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(one, range(len(sources)), sources))


def limit(server: DovecotServer, pairs: list[tuple[str, str]], n: int) -> float:
    def one(src: str, dst: str) -> Callable[[], None]:
        def go() -> None:
            server.doveadm("import", "-u", dst, "-s", f"maildir:{server.maildir(src)}", "", "all")
        return go

    return at_once(n, [one(s, d) for s, d in pairs])


def mbsync(server: DovecotServer, pairs: list[tuple[str, str]], n: int, work: Path) -> float:
    rc = mbsync_rc(work, [(Account(s, server.port), Account(d, server.port)) for s, d in pairs])
    def channel(i: int) -> Callable[[], str]:
        return lambda: run(["mbsync", "-q", "-c", str(rc), f"ch{i}"], "mbsync")

    return at_once(n, [channel(i) for i in range(len(pairs))])


def mailflip(server: DovecotServer, pairs: list[tuple[str, str]], n: int, work: Path,
             extra: list[str]) -> tuple[float, list[dict[str, Any]]]:
    lines = ["source,target,state_dir"]
    for src, dst in pairs:
        lines.append(f"imap://{src}:pw@127.0.0.1:{server.port},"
                     f"imap://{dst}:pw@127.0.0.1:{server.port},{work / 'state' / dst}")
    work.mkdir(parents=True, exist_ok=True)
    csv = work / "order.csv"
    csv.write_text("\n".join(lines) + "\n")
    # each pass holds 2 control links and a first worker's 2 (engine.run_pass), all on this
    # one host: n passes at once need 4n of it
    cmd = [MAILFLIP, "sync-batch", str(csv), "--concurrency", str(n), "--per-host", str(4 * n),
           "--max-connections", str(8 * n), "--json", *extra]
    began = time.monotonic()
    out = run(cmd, "mailflip sync-batch")
    seconds = time.monotonic() - began
    results = json.loads(out)
    failed = [r for r in results if r["error"]]
    if failed:
        raise SystemExit(f"sync_order: mailflip failed on {len(failed)} mailboxes: "
                         f"{failed[0]['error']}")
    return seconds, results


def verify(server: DovecotServer, pairs: list[tuple[str, str]]) -> list[str]:
    """The pairs whose copy differs from its source (shared verify.py)."""
    def one(src: str, dst: str) -> str | None:
        out = subprocess.run([sys.executable, str(SHARED / "verify.py"), "--src", src, "--dst",
                              dst, "--port", str(server.port)], capture_output=True, text=True)
        return None if out.returncode == 0 else f"{dst}: {(out.stdout + out.stderr)[-300:]}"

    with ThreadPoolExecutor(4) as pool:
        return [m for m in pool.map(one, *zip(*pairs, strict=True)) if m]


def forget(server: DovecotServer, users: list[str]) -> None:
    for user in users:  # exit 68: nobody to kick
        subprocess.run(["doveadm", "-c", str(server.conf), "kick", user], capture_output=True)
        shutil.rmtree(server.base / "mail" / user, ignore_errors=True)


def one_run(server: DovecotServer, sources: list[str], args: argparse.Namespace, r: int,
            work: Path) -> dict[str, Any]:
    targets = {peer: [f"{peer}{r}x{i:03d}" for i in range(len(sources))]
               for peer in ("limit", "mbsync", "mailflip")}
    pairs = {peer: list(zip(sources, users, strict=True)) for peer, users in targets.items()}
    for users in targets.values():  # made before any peer runs: no peer's time includes it
        for user in users:
            home(server, user)
    order = ["limit", "mbsync", "mailflip"]
    order = order[r % 3:] + order[:r % 3]  # no peer always first (a cold page cache) or last
    seconds: dict[str, float] = {}
    reports: list[dict[str, Any]] = []
    for peer in order:
        log(f"run {r + 1}: {peer}")
        if peer == "limit":
            seconds[peer] = limit(server, pairs[peer], args.concurrency)
        elif peer == "mbsync":
            seconds[peer] = mbsync(server, pairs[peer], args.concurrency, work / f"mbsync{r}")
        else:
            seconds[peer], reports = mailflip(server, pairs[peer], args.concurrency,
                                              work / f"mailflip{r}", args.mailflip_arg)
    log(f"run {r + 1}: verifying")
    bad = verify(server, pairs["mailflip"])
    if bad:
        raise SystemExit("sync_order: MISMATCH, mailflip's copy is not complete:\n"
                         + "\n".join(bad[:5]))
    mbsync_bad = verify(server, pairs["mbsync"])
    for message in mbsync_bad[:3]:
        log(f"(mbsync reference copy mismatched) {message}")
    for users in targets.values():
        forget(server, users)
    copied = sum(int(rep["report"]["messages_copied"]) for rep in reports)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(), "cpus": os.cpu_count(), "run": r + 1, "order": order,
        "mailboxes": len(sources), "messages_each": args.messages,
        "concurrency": args.concurrency, "mailflip_args": args.mailflip_arg,
        "messages_copied": copied,
        "mailflip_s": round(seconds["mailflip"], 3), "mbsync_s": round(seconds["mbsync"], 3),
        "limit_s": round(seconds["limit"], 3),
        "mailflip_over_mbsync": round(seconds["mbsync"] / seconds["mailflip"], 3),
        "fraction_of_limit": round(seconds["limit"] / seconds["mailflip"], 3),
        "mbsync_fraction_of_limit": round(seconds["limit"] / seconds["mbsync"], 3),
        "mbsync_mismatches": len(mbsync_bad),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mailboxes", type=int, default=50)
    ap.add_argument("--messages", type=int, default=200, help="per mailbox")
    ap.add_argument("--concurrency", type=int, default=8, help="mailboxes at once, each peer")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mailflip-arg", action="append", default=[],
                    help="one more argument for sync-batch (repeat), e.g. --connections=1")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mailflip-sync-order"))
    ap.add_argument("--out", help="append one JSON line per run to bench/results/OUT")
    args = ap.parse_args()
    for field in ("mailboxes", "messages", "concurrency", "runs"):
        if getattr(args, field) < 1:
            ap.error(f"--{field} must be at least 1")
    if os.getuid() != 0:
        raise SystemExit("sync_order: must run as root (Dovecot)")
    for tool in ("dovecot", "doveadm", "mbsync"):
        if shutil.which(tool) is None:
            raise SystemExit(f"sync_order: {tool} missing (make install apt)")
    if not (SHARED / "gen_mailbox.py").exists():
        raise SystemExit(f"sync_order: no gen_mailbox.py in {SHARED}: set SYNCBENCH_DIR")
    shutil.rmtree(args.work, ignore_errors=True)
    server = start_dovecot(DovecotOptions(password="pw"), args.work / "dovecot")
    try:
        sources = [f"src{i:03d}" for i in range(args.mailboxes)]
        log(f"seeding {args.mailboxes} mailboxes x {args.messages} messages")
        size = seed(server, sources, args.messages)
        log(f"seeded {size / 1e6:.0f} MB")
        rows = [one_run(server, sources, args, r, args.work) for r in range(args.runs)]
    finally:
        stop_dovecot(server)
        shutil.rmtree(args.work, ignore_errors=True)
    for row in rows:
        row["source_bytes"] = size
        print(json.dumps(row))
    if args.out:
        RESULTS.mkdir(exist_ok=True)
        with open(RESULTS / args.out, "a") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")

    def col(key: str) -> list[float]:
        return [float(r[key]) for r in rows]

    print(f"\n{args.mailboxes} mailboxes x {args.messages} messages ({size / 1e6:.0f} MB), "
          f"{args.concurrency} at a time; {args.runs} runs: median (min-max)")
    print(f"  mailflip sync-batch   {spread(col('mailflip_s'))} s")
    print(f"  mbsync                {spread(col('mbsync_s'))} s")
    print(f"  doveadm import limit  {spread(col('limit_s'))} s")
    print(f"  mailflip/mbsync       {spread(col('mailflip_over_mbsync'))}")
    fraction = statistics.median(col("fraction_of_limit"))
    print(f"  fraction of the limit {spread(col('fraction_of_limit'))} "
          f"(aim >= {AIM}: {'met' if fraction >= AIM else 'NOT met'}); "
          f"mbsync {spread(col('mbsync_fraction_of_limit'))}")


if __name__ == "__main__":
    main()
