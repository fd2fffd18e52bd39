#!/bin/sh
# Security: what the CVE-2019-5736 protection (runtime/exe_protect.c)
# costs.  In-process, the time of its two halves (the parent's share paid
# once per create, and the child's per container process), then whole
# `olrun run` of a busybox /bin/true bundle against an olrun linked without
# it (bench/exe_noprotect.c), in interleaved rounds so both see the same
# machine (bench/rounds.py).  Reports medians, spreads and the ratio.  Called
# by `make bench` (inside its private mount namespace with cgroup2 at
# /sys/fs/cgroup); runs from the repo.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-40}
PY=/usr/bin/python3
OLRUN=${OLRUN:-$PWD/olrun}

make -s "$BUILD/bench/exe_protect_time" "$BUILD/bench/olrun-noprotect" >/dev/null
work=$(mktemp -d /tmp/olrun-bench-security.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

echo "== security: the /proc/self/exe protection (CVE-2019-5736), in-process"
"$BUILD/bench/exe_protect_time" $((RUNS * 5)) | $PY -c '
import json, sys
r = json.load(sys.stdin)
print("  parent (once per create)   %7.1f us" % r["parent_us"])
print("  child  (per process)       %7.1f us  (median of %d, IQR %.1f-%.1f)" %
      (r["median_us"], r["runs"], r["q1_us"], r["q3_us"]))'

b=$work/bundle
mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys" "$b/rootfs/tmp"
cp /bin/busybox "$b/rootfs/bin/busybox"
ln -s busybox "$b/rootfs/bin/true"
$PY bench/config.py > "$b/config.json"
if ! "$OLRUN" --root "$work/probe" run -b "$b" probe >/dev/null 2>&1; then
  echo "  (olrun run: skipped, olrun cannot run the bundle here; make bench runs it in a cgroup v2 view)"
  exit 0
fi
echo "== security: olrun run /bin/true, without and with the protection (interleaved, $RUNS rounds)"
$PY bench/rounds.py security "$RUNS" "$BUILD/bench/olrun-noprotect --root $work/r2 run -b $b without" \
  "$OLRUN --root $work/r1 run -b $b with" || echo "  (a run failed)"
