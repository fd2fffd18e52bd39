#!/bin/sh
# make demo: a busybox container from the host's busybox-static, run by
# olrun's own runtime, showing what it sees from inside.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
olrun=$here/olrun
demo=$here/build/demo
rm -rf "$demo"
mkdir -p "$demo/rootfs/bin" "$demo/rootfs/proc" "$demo/rootfs/sys" "$demo/rootfs/dev" "$demo/rootfs/tmp"
cp /bin/busybox "$demo/rootfs/bin/busybox"
for a in sh echo hostname id cat grep ls ps readlink; do ln -s busybox "$demo/rootfs/bin/$a"; done
cat > "$demo/config.json" <<'JSON'
{
  "ociVersion": "1.3.0",
  "process": {
    "args": ["sh", "-c", "echo \"Hello from olrun: I am pid $$ on $(hostname), uid $(id -u)\"; echo 'My mounts:'; grep -o '^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]*' /proc/self/mountinfo | cut -d' ' -f5 | tr '\\n' ' '; echo; echo 'My capabilities:'; grep Cap /proc/self/status"],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]},
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "demo",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys"],
    "readonlyPaths": ["/proc/sys"]
  }
}
JSON
echo "+ olrun run -b $demo demo-$$"
"$olrun" --root "$here/build/demo-state" run -b "$demo" "demo-$$"

# The launcher: an OCI image built offline from the same busybox-static,
# run straight from its layout.  The first launch unpacks it into the
# cache; the second finds it there and unpacks nothing.
image=$here/build/demo-image
rm -rf "$image" "$here/build/demo-cache"
sh "$here/tests/make_busybox_image.sh" "$image" demo
launch () {
    echo "+ olrun run $*" >&2
    "$olrun" --root "$here/build/demo-state" run --cache "$here/build/demo-cache" "$@"
}
launch "oci:$image:demo"
launch "oci:$image:demo" sh -c 'echo "second launch: $(hostname), rootfs $(awk "\$5 == \"/\" {print \$6}" /proc/self/mountinfo)"'
launch -B "$here/tests:/mnt/tests:ro" --hostname demo-box "oci:$image:demo" sh -c 'hostname; ls /mnt/tests | head -3'
id=$(launch -d "oci:$image:demo" sh -c 'echo detached: $(id -u); sleep 30')
echo "$id"
# wait for its first line (at most 5 s), then show the log
for _ in $(seq 50); do [ -n "$("$olrun" --root "$here/build/demo-state" logs "$id")" ] && break; sleep 0.1; done
echo "+ olrun logs $id"; "$olrun" --root "$here/build/demo-state" logs "$id"
echo "+ olrun stop -t 1 $id"; "$olrun" --root "$here/build/demo-state" stop -t 1 "$id"
"$olrun" --root "$here/build/demo-state" delete "$id"
