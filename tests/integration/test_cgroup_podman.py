"""podman --runtime olrun: pause, unpause and stop go through olrun's
cgroup code (pause/resume -> cgroup.freeze, kill --all, delete).

podman creates cgroups in every hierarchy it sees, so it runs only in a
private mount namespace with the pure v2 view (DESIGN.md, build-host
facts), with its own storage under the test's directory."""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import CGROUP2, OLRUN

SCRIPT = r"""
set -u
mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup || exit 99
P="podman --root $T/storage --runroot $RR --runtime $OLRUN --cgroup-manager cgroupfs --events-backend file"
$P import $T/bb.tar localhost/olrun-bb > /dev/null || exit 98
$P run -d --name pt --network none --pids-limit 0 --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
   localhost/olrun-bb /bin/sleep 1000 > $T/cid || exit 97
echo "cgroup=$(grep ^0:: /proc/$($P inspect -f '{{.State.Pid}}' pt)/cgroup)"
$P pause pt > /dev/null; echo "pause=$?"
echo "status=$($P inspect -f '{{.State.Status}}' pt)"
echo "runtime-state=$($OLRUN state $(cat $T/cid) 2>/dev/null | grep -c paused)"
$P unpause pt > /dev/null; echo "unpause=$?"
echo "status=$($P inspect -f '{{.State.Status}}' pt)"
$P stop -t 1 pt > /dev/null 2>&1; echo "stop=$?"
echo "status=$($P inspect -f '{{.State.Status}}' pt)"
$P rm pt > /dev/null; echo "rm=$?"
$P rmi -a > /dev/null 2>&1
"""


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_podman_pause_unpause_stop(tmp_path):
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", rootfs / "bin/busybox")
    for a in ("sh", "sleep"):
        os.symlink("busybox", rootfs / "bin" / a)
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tmp_path / "bb.tar"), "."], check=True)
    # podman makes /libpod_parent (and its conmon cgroup); remove what it
    # made here once empty.
    parent = os.path.join(CGROUP2, "libpod_parent")
    made_parent = not os.path.exists(parent)
    # podman refuses a runroot longer than 50 characters.
    runroot = tempfile.mkdtemp(prefix="olrun-pm-", dir="/tmp")
    env = dict(os.environ, T=str(tmp_path), RR=runroot, OLRUN=os.path.abspath(OLRUN))
    try:
        p = subprocess.run(["unshare", "-m", "sh", "-c", SCRIPT], env=env, capture_output=True, text=True,
                           timeout=180)
    finally:
        shutil.rmtree(runroot, ignore_errors=True)
        if made_parent:
            for d in (os.path.join(parent, "conmon"), parent):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
    out = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    assert p.returncode == 0, (p.stdout, p.stderr)
    cgroup = out["cgroup"].split("::")[-1]
    assert out["pause"] == "0" and out["unpause"] == "0" and out["stop"] == "0" and out["rm"] == "0", p.stdout
    statuses = [l.split("=", 1)[1] for l in p.stdout.splitlines() if l.startswith("status=")]
    assert statuses == ["paused", "running", "exited"], p.stdout
    # olrun's own state (podman passes no --root: the default) said paused.
    assert out["runtime-state"] == "1", p.stdout
    # The container's cgroup is gone after `podman rm`.
    assert cgroup.startswith("/") and not os.path.exists(CGROUP2 + cgroup), cgroup
