#!/usr/bin/env bash
# mailflip sync vs mbsync on a local Dovecot, against the server's limit; no-change resync
# time and peak RSS. Issue 12's three figures, as medians of RUNS runs with their spread.
#
# Usage (as root, from anywhere):  bench/sync_vs_mbsync.sh [N=5000] [RSS_SIZES="5000 50000"]
#   RUNS           comparisons in this invocation (default 3); each run is printed, then
#                  the median and the spread (min-max) of each figure
#   OUT            also append one JSON line per run to bench/results/$OUT
#   SYNCBENCH_DIR  the shared peer-benchmark scripts (setup_dovecot.sh, gen_mailbox.py,
#                  verify.py, compare_mailflip.sh); default: ../shared/bench next to the repo.
# Steps: 1. RUNS x compare_mailflip.sh N (Dovecot, N messages over 10 folders, mbsync vs
#           mailflip full copy + no-change resync, both verified; Dovecot's own `doveadm
#           import` of the same source as the limit): ratio to mbsync, fraction of the
#           limit (aim >= 0.85), the resync's whole process (aim <= 0.3 s) and the pass
#           time mailflip reports (--json duration_s; aim <= 0.1 s);
#        2. peak RSS of a full mailflip copy for each size in RSS_SIZES, once each
#           (aim <= 150 MB, flat).
# Exit status: that of the last comparison that failed (1: mismatch or slower than
# mbsync, 2: mailflip failed), else 0.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=${SYNCBENCH_DIR:-$ROOT/../shared/bench}
N=${1:-5000}
RSS_SIZES=${2:-"5000 50000"}
die() { echo "sync_vs_mbsync: $*" >&2; exit 2; }

for f in compare_mailflip.sh setup_dovecot.sh gen_mailbox.py verify.py; do
  [ -f "$BENCH/$f" ] || die "missing $BENCH/$f: set SYNCBENCH_DIR to the shared bench directory"
done
[ "$(id -u)" = 0 ] || die "must run as root (Dovecot)"
MF=$ROOT/.venv/bin/mailflip
[ -x "$MF" ] || die "$MF not found: pip install -e '$ROOT[dev]' into $ROOT/.venv"
PY=$ROOT/.venv/bin/python

# 1: RUNS comparisons (the shared script does set-up and verification each time).
export SYNCBENCH_BASE=${SYNCBENCH_BASE:-/tmp/syncbench-cmp}
RUNS=${RUNS:-3}
TSV=$(mktemp)
CMP_RC=0
for run in $(seq "$RUNS"); do
  echo "== run $run of $RUNS"
  rm -f "$SYNCBENCH_BASE/mailflip-resync.json"
  (cd "$ROOT" && bash "$BENCH/compare_mailflip.sh" "$N") | tee /tmp/sync_vs_mbsync.log
  rc=${PIPESTATUS[0]}; [ "$rc" = 0 ] || CMP_RC=$rc
  "$PY" - "$SYNCBENCH_BASE/mailflip-resync.json" "$rc" /tmp/sync_vs_mbsync.log >> "$TSV" <<'PYEOF'
import json, re, sys
log = open(sys.argv[3]).read()
def num(pattern):
    m = re.search(pattern, log)
    return float(m.group(1)) if m else None
try:
    pass_s = json.load(open(sys.argv[1]))["duration_s"]
except (OSError, ValueError, KeyError):
    pass_s = None
print(json.dumps({
    "mbsync_full_s": num(r"mbsync:\s+full ([0-9.]+)s"),
    "mailflip_full_s": num(r"mailflip: full ([0-9.]+)s"),
    "mbsync_resync_s": num(r"mbsync:\s+full [0-9.]+s, resync ([0-9.]+)s"),
    "mailflip_resync_s": num(r"mailflip: full [0-9.]+s, resync ([0-9.]+)s"),
    "limit_s": num(r"doveadm import ([0-9.]+)s"),
    "ratio_full": num(r"throughput ratio: ([0-9.]+) \(full\)"),
    "fraction_of_limit": num(r"mailflip reaches ([0-9.]+) of the limit"),
    "resync_pass_s": pass_s, "exit": int(sys.argv[2])}))
PYEOF
done
"$PY" - "$TSV" "$N" "${OUT:-}" "$ROOT" <<'PYEOF'
import json, os, platform, sys
from datetime import UTC, datetime
rows = [json.loads(line) for line in open(sys.argv[1])]
n, out, root = sys.argv[2], sys.argv[3], sys.argv[4]
sys.path.insert(0, f"{root}/bench")
from peers import spread as median_spread
def spread(key, digits=2):
    vals = [r[key] for r in rows if r[key] is not None]
    return median_spread(vals, digits) if vals else "n/a"
print(f"\n{len(rows)} runs of {n} messages: median (min-max)")
for i, r in enumerate(rows, 1):
    print(f"  run {i}: mailflip {r['mailflip_full_s']}s, mbsync {r['mbsync_full_s']}s, "
          f"limit {r['limit_s']}s; ratio {r['ratio_full']}, fraction of the limit "
          f"{r['fraction_of_limit']}; resync process {r['mailflip_resync_s']}s "
          f"(pass {r['resync_pass_s']}s)")
print(f"  full copy, mailflip/mbsync        {spread('ratio_full')}")
print(f"  full copy, fraction of the limit  {spread('fraction_of_limit')} (aim >= 0.85)")
print(f"  no-change resync, whole process   {spread('mailflip_resync_s', 3)} s (aim <= 0.3 s); "
      f"mbsync {spread('mbsync_resync_s', 3)} s")
print(f"  no-change resync, pass            {spread('resync_pass_s', 3)} s (aim <= 0.1 s)")
if out:
    os.makedirs(f"{root}/bench/results", exist_ok=True)
    with open(f"{root}/bench/results/{out}", "a") as fh:
        for i, r in enumerate(rows, 1):
            fh.write(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"),
                                 "host": platform.node(), "cpus": os.cpu_count(),
                                 "messages": int(n), "run": i, **r}) + "\n")
PYEOF
rm -f "$TSV"

# 2: peak RSS per mailbox size (aim <= 150 MB), on its own Dovecot instance.
export SYNCBENCH_BASE=/tmp/syncbench-rss SYNCBENCH_PORT=${SYNCBENCH_RSS_PORT:-1144}
"$BENCH/setup_dovecot.sh" start "$SYNCBENCH_BASE" >/dev/null || die "dovecot did not start"
trap '"$BENCH/setup_dovecot.sh" stop "$SYNCBENCH_BASE" >/dev/null' EXIT
for n in $RSS_SIZES; do
  "$BENCH/setup_dovecot.sh" reset-user src dst3 >/dev/null
  python3 "$BENCH/gen_mailbox.py" -n "$n" --maildir "$SYNCBENCH_BASE/mail/src/Maildir" >/dev/null || die "gen failed"
  STATE=$(mktemp -d "$SYNCBENCH_BASE/state.XXXXXX")
  "$PY" - "$MF" "$SYNCBENCH_PORT" "$STATE" "$n" <<'PYEOF'
import json, resource, subprocess, sys, time
mf, port, state, n = sys.argv[1:]
cmd = [mf, "sync", "--source", f"imap://src:pw@127.0.0.1:{port}",
       "--target", f"imap://dst3:pw@127.0.0.1:{port}", "--state-dir", state, "--json"]
t0 = time.monotonic()
out = subprocess.run(cmd, capture_output=True, text=True)
wall = time.monotonic() - t0
if out.returncode != 0:
    sys.exit(f"mailflip failed: {out.stderr[-500:]}")
report = json.loads(out.stdout)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"peak RSS {n} msgs: {peak_mb:.0f} MB  (copied {report['messages_copied']}, "
      f"{report['bytes_copied'] / 1e6:.0f} MB in {wall:.1f}s, {report['throughput_msgs_s']} msg/s)")
PYEOF
  python3 "$BENCH/verify.py" --src src --dst dst3 --port "$SYNCBENCH_PORT" | head -1
done
exit "$CMP_RC"
