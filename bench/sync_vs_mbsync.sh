#!/usr/bin/env bash
# mailflip sync vs mbsync on a local Dovecot, plus no-change resync time and peak RSS.
#
# Usage (as root, from anywhere):  bench/sync_vs_mbsync.sh [N=5000] [RSS_SIZES="5000 50000"]
#   SYNCBENCH_DIR  the shared peer-benchmark scripts (setup_dovecot.sh, gen_mailbox.py,
#                  verify.py, compare_mailflip.sh); default: ../shared/bench next to the repo.
# Steps: 1. compare_mailflip.sh N (Dovecot, N messages over 10 folders, mbsync vs mailflip full
#           copy + no-change resync, verified) -> ratio;
#        2. the resync pass time mailflip itself reports (--json duration_s; target <= 0.3 s);
#        3. peak RSS of a full mailflip copy for each size in RSS_SIZES (should stay flat).
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

# 1 + 2: full copy and resync against mbsync (the shared script does set-up and verification).
export SYNCBENCH_BASE=${SYNCBENCH_BASE:-/tmp/syncbench-cmp}
(cd "$ROOT" && bash "$BENCH/compare_mailflip.sh" "$N") | tee /tmp/sync_vs_mbsync.log
CMP_RC=${PIPESTATUS[0]}
RESYNC_PASS=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["duration_s"])' \
  "$SYNCBENCH_BASE/mailflip-resync.json" 2>/dev/null || echo "n/a")
echo "mailflip no-change resync pass (--json duration_s) over $N messages: ${RESYNC_PASS}s (target <= 0.3s)"

# 3: peak RSS per mailbox size, on its own Dovecot instance.
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
