#!/bin/sh
# exec of /bin/true into a running busybox container: olrun against crun
# and runc, in the same run, each runtime on its own container made from
# the same bundle.  Reports medians, spreads and the ratios to crun and
# runc.  Called by `make bench` (or `make bench-exec`); runs from the repo.
#
# Everything runs in a private mount namespace with cgroup2 mounted at
# /sys/fs/cgroup (this host is hybrid and runc/crun would otherwise write
# into the v1 hierarchies).  crun cannot use a cgroup here: it raises
# RLIMIT_MEMLOCK to load its device eBPF program, and this host's hard
# limit is 8 MiB without CAP_SYS_RESOURCE.  So crun runs with
# --cgroup-manager=disabled, and olrun is measured both ways: with its
# cgroup (what it really does) and without one (like for like with crun).
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-200}
OLRUN=$(realpath "${OLRUN:-./olrun}")
PY=/usr/bin/python3

if ! command -v hyperfine >/dev/null || ! command -v busybox >/dev/null; then
    echo "== exec: skipped (needs hyperfine and busybox)"
    exit 0
fi

if [ "${OLRUN_BENCH_INNER:-}" != 1 ]; then
    exec env OLRUN_BENCH_INNER=1 OLRUN="$OLRUN" RUNS="$RUNS" unshare -m sh "$0"
fi

mount --make-rprivate /
# Inside make bench's namespace the view is there already.
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || mount -t cgroup2 none /sys/fs/cgroup

work=$(mktemp -d /tmp/olrun-bench-exec.XXXXXX)
ids=""
cleanup() {
    for r in $ids; do
        "${r%%:*}" --root "$work/root-${r##*:}" delete -f bench >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

bundle="$work/bundle"
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/tmp"
cp "$(command -v busybox)" "$bundle/rootfs/bin/busybox"
for a in true sleep sh; do ln -s busybox "$bundle/rootfs/bin/$a"; done
$PY - "$bundle/config.json" <<'PYEOF'
import json, sys
caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
config = {
    "ociVersion": "1.0.2",
    "process": {"args": ["/bin/sleep", "100000"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                "env": ["PATH=/bin"], "noNewPrivileges": True,
                "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]},
    "root": {"path": "rootfs", "readonly": True},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
               {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
    "linux": {"namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")]},
}
json.dump(config, open(sys.argv[1], "w"))
PYEOF

# start NAME BINARY [GLOBAL OPTIONS]: a running container for one runtime.
start() {
    name=$1 bin=$2
    shift 2
    if ! command -v "$bin" >/dev/null 2>&1; then
        return 1
    fi
    (cd "$bundle" && "$bin" --root "$work/root-$name" "$@" create bench </dev/null >/dev/null 2>&1) || return 1
    ids="$ids $bin:$name"
    "$bin" --root "$work/root-$name" start bench || return 1
    "$bin" --root "$work/root-$name" exec bench /bin/true || return 1
}

set --
if start olrun "$OLRUN"; then
    set -- "$@" -n olrun "$OLRUN --root $work/root-olrun exec bench /bin/true"
fi
if start olrun-nocg "$OLRUN" --cgroup-manager disabled; then
    set -- "$@" -n olrun-nocg "$OLRUN --root $work/root-olrun-nocg exec bench /bin/true"
fi
if start crun crun --cgroup-manager=disabled; then
    set -- "$@" -n crun "crun --root $work/root-crun exec bench /bin/true"
fi
if start runc runc; then
    set -- "$@" -n runc "runc --root $work/root-runc exec bench /bin/true"
fi

echo "== exec of /bin/true into a running container (median of $RUNS)"
hyperfine -N -w 10 -r "$RUNS" --export-json "$work/exec.json" "$@" >/dev/null
$PY - "$work/exec.json" <<'PYEOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
for n in ("olrun", "olrun-nocg", "crun", "runc"):
    if n in r:
        x = r[n]
        label = {"olrun": "olrun (cgroup)", "olrun-nocg": "olrun (no cgroup)", "crun": "crun (no cgroup)",
                 "runc": "runc (cgroup)"}[n]
        print("  %-18s median %6.2f ms  (stddev %5.2f, min %5.2f)  cpu %5.2f ms" % (
            label, x["median"] * 1e3, x["stddev"] * 1e3, x["min"] * 1e3, (x["user"] + x["system"]) * 1e3))
for a, b in (("olrun", "crun"), ("olrun-nocg", "crun"), ("olrun", "runc")):
    if a in r and b in r:
        print("  ratio %-10s / %-5s %5.2fx" % (a, b, r[a]["median"] / r[b]["median"]))
PYEOF
