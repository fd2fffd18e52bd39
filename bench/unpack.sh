#!/bin/sh
# Unpack speed, side by side in one run (issue 7): olrun's pull of an OCI
# layout into an empty cache (read, verify, inflate, write, rename) against
# umoci unpack, umoci raw unpack, GNU tar -xzf per layer, bsdtar per layer,
# and the floor: zlib inflate of every layer alone, no writes.
#
# The image is built offline from this host's /usr (5 gzip layers, ~550 MiB
# uncompressed), once, under build/bench/.  Everything unpacks on tmpfs.
#   OLRUN=./olrun RUNS=3 sh bench/unpack.sh
set -eu
OLRUN=${OLRUN:-./olrun}
RUNS=${RUNS:-3}
BUILD=${BUILD:-build}
IMG=$BUILD/bench/unpack-image
FLOOR=$BUILD/bench/inflate-floor
WORK=${WORK:-/dev/shm/olrun-bench-unpack.$$}
PY=${PYTHON:-/usr/bin/python3}

[ -x "$FLOOR" ] || make -s "$FLOOR"
if [ ! -f "$IMG/index.json" ]; then
    echo "unpack bench: building the image from /usr (once)..." >&2
    rm -rf "$IMG.tmp" && mkdir -p "$IMG.tmp/blobs/sha256"
    for d in usr/include usr/lib/gcc usr/lib/python3.11 usr/libexec usr/share/perl5; do
        [ -d "/$d" ] || continue
        tar -C / --numeric-owner -cf - "$d" | gzip -6 -n > "$IMG.tmp/layer.gz"
        gz=$(sha256sum < "$IMG.tmp/layer.gz" | cut -d' ' -f1)
        diff=$(gzip -dc < "$IMG.tmp/layer.gz" | sha256sum | cut -d' ' -f1)
        mv "$IMG.tmp/layer.gz" "$IMG.tmp/blobs/sha256/$gz"
        echo "$gz $diff" >> "$IMG.tmp/layers"
    done
    "$PY" - "$IMG.tmp" <<'PYEOF'
import hashlib, json, os, sys
d = sys.argv[1]
layers = [l.split() for l in open(os.path.join(d, "layers"))]
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(os.path.join(d, "blobs", "sha256", h), "wb").write(data)
    return "sha256:" + h, len(data)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + x for _, x in layers]}}).encode()
cd, cs = put(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + g,
                "size": os.path.getsize(os.path.join(d, "blobs", "sha256", g))} for g, _ in layers]}).encode()
md, ms = put(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
    open(os.path.join(d, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(d, "oci-layout"), "w"))
PYEOF
    rm -rf "$IMG" && mv "$IMG.tmp" "$IMG"
fi
LAYERS=$(cut -d' ' -f1 "$IMG/layers" | sed "s|^|$IMG/blobs/sha256/|")
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT INT TERM

# time_it NAME CMD...: RUNS runs, each into a fresh $WORK/out; prints the median.
time_it () {
    name=$1; shift
    times=""
    i=0
    while [ $i -lt "$RUNS" ]; do
        rm -rf "$WORK/out" && mkdir -p "$WORK/out"
        sync
        t0=$(date +%s.%N)
        "$@" > /dev/null 2>&1 || { echo "unpack bench: $name failed" >&2; return 1; }
        t1=$(date +%s.%N)
        times="$times $(echo "$t1 - $t0" | bc)"
        i=$((i + 1))
    done
    echo "$times" | tr ' ' '\n' | grep . | sort -n | awk -v n="$name" '
        { v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; printf "%s %.3f %.3f %.3f\n", n, m, v[1], v[NR] }'
}
per_layer () {
    tool=$1
    for l in $LAYERS; do $tool -xzf "$l" -C "$WORK/out"; done
}

RES=$WORK/results
{
    time_it floor "$FLOOR" $LAYERS
    time_it olrun "$OLRUN" pull -q --cache "$WORK/out" "oci:$IMG:bench"
    time_it bsdtar per_layer bsdtar
    time_it tar per_layer tar
    time_it umoci-raw umoci raw unpack --image "$IMG:bench" "$WORK/out/rootfs"
    time_it umoci umoci unpack --image "$IMG:bench" "$WORK/out/bundle"
} > "$RES"
sz=$(du -sb "$IMG/blobs" | cut -f1)
raw=$("$FLOOR" $LAYERS)
echo "unpack bench: $(wc -l < "$IMG/layers") layers, $((sz >> 20)) MiB gzip -> $((raw >> 20)) MiB, on tmpfs, $RUNS runs"
printf "  %-10s %8s %8s %8s %10s\n" method median min max vs-olrun
olrun_t=$(awk '$1 == "olrun" { print $2 }' "$RES")
floor_t=$(awk '$1 == "floor" { print $2 }' "$RES")
awk -v o="$olrun_t" '{ printf "  %-10s %7.3fs %7.3fs %7.3fs %9.2fx\n", $1, $2, $3, $4, $2 / o }' "$RES"
echo "$olrun_t $floor_t" | awk '{ printf "  olrun / inflate floor = %.2f (target <= 1.25)\n", $1 / $2 }'
