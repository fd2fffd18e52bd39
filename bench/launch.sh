#!/bin/sh
# bench/launch.sh: the launcher's second-launch cost, side by side in one run.
#
#   bundle   olrun run -b BUNDLE ID /bin/true     (a prepared bundle: the floor)
#   launch   olrun run oci:IMAGE /bin/true        (cached image: nothing to unpack)
#   launch-netns  the same with --net none        (podman below makes a netns too)
#   podman   podman run --rm IMAGE /bin/true      (crun and runc, same image, imported)
#
# Target (issue 8): launch <= 2x bundle, and faster than podman.  Everything
# runs in a private mount namespace whose /sys/fs/cgroup is cgroup2 alone:
# podman and crun would otherwise write to the host's v1 hierarchies.
# Usage: sh bench/launch.sh [RUNS]   (OLRUN=path overrides ./olrun)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
olrun=${OLRUN:-$here/olrun}
runs=${1:-40}
command -v hyperfine >/dev/null || { echo "bench/launch.sh: hyperfine is needed (apt-get install hyperfine)"; exit 1; }

if [ "${OLRUN_BENCH_INNER:-}" != 1 ]; then
    exec unshare -m env OLRUN_BENCH_INNER=1 sh -c \
        'mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup && exec sh "$0" "$@"' "$0" "$@"
fi

work=$(mktemp -d /tmp/olrun-bench-launch.XXXXXX)
image=$work/image
state=$work/state
cache=$work/cache
podman_tag=localhost/olrun-bench-busybox:latest
cleanup () {
    "$olrun" bundle delete "$work/bundle" >/dev/null 2>&1 || true
    rm -rf "$work" "${runroot:-}"
}
trap cleanup EXIT

sh "$here/tests/make_busybox_image.sh" "$image" bench
ref="oci:$image:bench"
# The first launch pulls and unpacks; the runs measured below unpack nothing.
"$olrun" --root "$state" run -q --cache "$cache" "$ref" /bin/true
# The prepared bundle is exactly what the launcher makes (same config.json).
"$olrun" --root "$state" run -q --cache "$cache" --keep-bundle "$work/bundle" "$ref" /bin/true

set -- \
    -n bundle "$olrun --root $state run -b $work/bundle bench-bundle" \
    -n launch "$olrun --root $state run -q --cache $cache $ref /bin/true" \
    -n launch-netns "$olrun --root $state run -q --cache $cache --net none $ref /bin/true"
if command -v podman >/dev/null; then
    # podman imports the same rootfs: the image's only gzip blob is its layer.
    for blob in "$image"/blobs/sha256/*; do
        gzip -t "$blob" 2>/dev/null && gzip -dc "$blob" > "$work/rootfs.tar"
    done
    # Storage of its own (podman refuses a runroot longer than 50 characters).
    runroot=$(mktemp -d /tmp/olrun-pm-XXXXXX)
    podman="podman --root $work/storage --runroot $runroot --cgroup-manager cgroupfs --events-backend file"
    $podman import "$work/rootfs.tar" "$podman_tag" >/dev/null
    flags="--rm --network none --pids-limit 0 --ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
    # crun 1.8.1 raises RLIMIT_MEMLOCK before it loads the device-cgroup
    # eBPF program, which this host's 8 MiB hard limit (and no
    # CAP_SYS_RESOURCE) refuses; --privileged has no device program.  It
    # also drops seccomp and masked paths: less work for podman, not more.
    if command -v crun >/dev/null; then
        $podman --runtime crun run $flags --privileged "$podman_tag" /bin/true
        set -- "$@" -n podman-crun "$podman --runtime crun run $flags --privileged $podman_tag /bin/true"
    fi
    if command -v runc >/dev/null; then
        $podman --runtime runc run $flags "$podman_tag" /bin/true
        set -- "$@" -n podman-runc "$podman --runtime runc run $flags $podman_tag /bin/true"
    fi
else
    echo "bench/launch.sh: podman missing: no podman comparison"
fi

hyperfine -N --warmup 5 --runs "$runs" --export-csv "$work/results.csv" "$@"

# name,mean,stddev,median,user,system,min,max
awk -F, 'NR > 1 { mean[$1] = $2; med[$1] = $4; sd[$1] = $3 }
END {
    printf "\n%-14s %9s %9s %9s\n", "", "median ms", "mean ms", "stddev"
    for (n in mean) printf "%-14s %9.2f %9.2f %9.2f\n", n, med[n] * 1000, mean[n] * 1000, sd[n] * 1000
    printf "\nlaunch / bundle (median):        %.2fx   (target <= 2)\n", med["launch"] / med["bundle"]
    for (p in med) if (p ~ /^podman/) {
        printf "%-11s / launch (median):   %.2fx   (target > 1)\n", p, med[p] / med["launch"]
        printf "%-11s / launch-netns:      %.2fx\n", p, med[p] / med["launch-netns"]
    }
}' "$work/results.csv"
