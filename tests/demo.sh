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
