#!/bin/sh
# Seccomp: what the BPF cache saves.  Compiling podman's default profile
# with libseccomp against loading the compiled program from olrun's cache,
# in-process (seccomp_try --bench: median of N prepares each); then, when
# olrun can run containers, `olrun run` of a busybox bundle with that
# profile, cache cold (emptied before every run) against cache warm.
# Reports medians and ratios.  Called by `make bench`; runs from the repo.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-50}
PY=/usr/bin/python3

make -s "$BUILD/tests/seccomp_try" >/dev/null
work=$(mktemp -d /tmp/olrun-bench-seccomp.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
$PY tests/integration/seccomp_profiles.py > "$work/seccomp.json"

echo "== seccomp: podman's default profile, compile vs cached load (median of $RUNS)"
"$BUILD/tests/seccomp_try" --bench "$RUNS" "$work/seccomp.json" | $PY -c '
import json, sys
r = json.load(sys.stdin)
print("  compile (libseccomp)  %9.1f us" % r["compile_median_us"])
print("  cached load           %9.1f us" % r["cached_median_us"])
print("  ratio compile/cached  %9.1f x" % r["ratio"])'

# The whole `run`, when the runtime is there.
OLRUN=${OLRUN:-./olrun}
BUSYBOX=$(command -v busybox || true)
if ! command -v hyperfine >/dev/null || [ -z "$BUSYBOX" ] || [ ! -x "$OLRUN" ]; then
    echo "  (olrun run: skipped, needs hyperfine, busybox and ./olrun)"
    exit 0
fi
bundle="$work/bundle"
mkdir -p "$bundle/rootfs/bin"
cp "$BUSYBOX" "$bundle/rootfs/bin/busybox"
ln -s busybox "$bundle/rootfs/bin/true"
$PY - "$work/seccomp.json" "$bundle/config.json" <<'PYEOF'
import json, sys
seccomp = json.load(open(sys.argv[1]))
config = {
    "ociVersion": "1.0.2",
    "process": {"args": ["/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                "env": ["PATH=/bin"], "noNewPrivileges": True},
    "root": {"path": "rootfs", "readonly": True},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts")],
              "seccomp": seccomp},
}
json.dump(config, open(sys.argv[2], "w"))
PYEOF
root="$work/root"
if ! "$OLRUN" --root "$root" run -b "$bundle" bench-probe >/dev/null 2>&1; then
    echo "  (olrun run: skipped, this olrun cannot run the bundle yet)"
    exit 0
fi
cache="$root/.seccomp-cache"   # where runtime/create.c keeps it
nosec="$work/bundle-nosec"
mkdir -p "$nosec"
ln -s "$bundle/rootfs" "$nosec/rootfs"
$PY -c 'import json,sys; c=json.load(open(sys.argv[1])); del c["linux"]["seccomp"]; json.dump(c,open(sys.argv[2],"w"))' \
    "$bundle/config.json" "$nosec/config.json"
echo "== seccomp: olrun run with podman's profile, cache cold vs warm (and no profile)"
# The same shell wrapper for every variant, so the only difference is
# whether the cache was emptied first (hyperfine's --prepare would time
# differently).
run="exec $OLRUN --root $root run -b"
hyperfine -N -w 3 -r "$RUNS" --export-json "$work/run.json" \
    -n cold "sh -c 'rm -rf $cache; $run $bundle bench-cold'" \
    -n warm "sh -c ': $cache; $run $bundle bench-warm'" \
    -n none "sh -c ': $cache; $run $nosec bench-none'" >/dev/null
$PY - "$work/run.json" <<'PYEOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
def cpu(n):
    return (r[n]["user"] + r[n]["system"]) * 1e3
for n in ("cold", "warm", "none"):
    label = {"cold": "cache cold", "warm": "cache warm", "none": "no seccomp"}[n]
    print("  run, %-11s  median %7.2f ms  (stddev %5.2f)  cpu %6.2f ms" % (label, r[n]["median"] * 1e3,
          r[n]["stddev"] * 1e3, cpu(n)))
print("  ratio cold/warm       %6.2fx wall, %5.2fx cpu" % (r["cold"]["median"] / r["warm"]["median"],
                                                          cpu("cold") / cpu("warm")))
print("  ratio warm/none       %6.2fx wall, %5.2fx cpu" % (r["warm"]["median"] / r["none"]["median"],
                                                          cpu("warm") / cpu("none")))
PYEOF
