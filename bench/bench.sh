#!/bin/sh
# make bench: olrun, crun and runc side by side, in one run.
#
# Absolute times on a shared machine are noise; what is reported is the
# median and spread of each, and its ratio to crun, measured in the same
# run in interleaved rounds (bench/rounds.py).  Everything runs in a private mount namespace with a pure cgroup v2
# view (crun refuses this host's hybrid setup), with one busybox bundle
# whose process is /bin/true.  The other parts of the bench (seccomp,
# unpack, exec, launch, security) are called at the end when present.
set -eu
cd "$(dirname "$0")/.."
OLRUN=${OLRUN:-$PWD/olrun}
RUNS=${RUNS:-40}
PY=/usr/bin/python3
export OLRUN RUNS

if [ "${OLRUN_BENCH_INNER:-}" != 1 ]; then
  exec unshare -m sh -c 'mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup &&
                         OLRUN_BENCH_INNER=1 exec sh bench/bench.sh'
fi

work=$(mktemp -d /tmp/olrun-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
b=$work/bundle
mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys" "$b/rootfs/tmp"
cp /bin/busybox "$b/rootfs/bin/busybox"
ln -s busybox "$b/rootfs/bin/true"
ln -s busybox "$b/rootfs/bin/sh"
$PY bench/config.py > "$b/config.json"

runtimes="olrun:$OLRUN"
for rt in crun runc; do
  if command -v $rt >/dev/null; then runtimes="$runtimes $rt:$(command -v $rt)"; fi
done

cmds_run=""
cmds_cycle=""
for entry in $runtimes; do
  name=${entry%%:*}
  bin=${entry#*:}
  root=$work/root-$name
  cmds_run="$cmds_run|$bin --root $root run -b $b $name-run"
  # create, start, wait for the process, delete: what an engine does.
  cmds_cycle="$cmds_cycle|sh bench/cycle.sh $bin $root $b $name-cycle"
done

echo "== binaries"
for entry in $runtimes; do
  name=${entry%%:*}
  bin=${entry#*:}
  # A static binary has none ("statically linked").
  printf "  %-6s %8d bytes  %2d shared objects (ldd)\n" "$name" "$(stat -L -c %s "$bin")" \
    "$(ldd "$bin" 2>/dev/null | grep -c '/')"
done

hf() {
  title=$1
  shift
  $PY bench/rounds.py "$title" "$RUNS" "$@" || {
    echo "  ($title: a runtime failed; see below)"
    for c in "$@"; do sh -c "$c" >/dev/null || echo "  failed: $c"; done
    return 0
  }
}

split() { echo "$1" | tr '|' '\n' | sed '/^$/d'; }

echo "== --version (the cost of loading the binary)"
versions=""
for entry in $runtimes; do versions="$versions|${entry#*:} --version"; done
IFS='
'
hf "version" $(split "$versions")
echo "== run /bin/true"
hf "run" $(split "$cmds_run")
echo "== create, start, wait, delete"
hf "cycle" $(split "$cmds_cycle")
unset IFS

echo "== peak RSS of run /bin/true (max of the process tree, median of 5)"
for entry in $runtimes; do
  name=${entry%%:*}
  bin=${entry#*:}
  for i in 1 2 3 4 5; do
    /usr/bin/time -f %M "$bin" --root "$work/root-$name" run -b "$b" "$name-rss" 2>&1 >/dev/null | tail -1
  done | sort -n | sed -n 3p | { read -r kb; printf "  %-6s %6d KiB\n" "$name" "$kb"; }
done

skip=${BENCH_SKIP:-}   # parts to leave out, e.g. BENCH_SKIP="unpack launch"
for part in seccomp exec security launch unpack; do
  case " $skip " in *" $part "*) continue ;; esac
  if [ -f "bench/$part.sh" ]; then
    echo
    sh "bench/$part.sh" || echo "  (bench/$part.sh failed)"
  fi
done
