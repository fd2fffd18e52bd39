"""podman as a client of olrun (`podman --runtime olrun`).

podman creates cgroups in every hierarchy it sees, so it runs only in a
private mount namespace with the pure v2 view (DESIGN.md, build-host
facts), with its storage under the test's directory, and with the flags
this host needs.  A test passes the body of a shell script; `$P` in it is
the podman command, `$IMG` a busybox image imported for the test."""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import OLRUN

needs_podman = pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")

# Flags for `podman run` on this host: no pids controller in the v2
# hierarchy, no CAP_SYS_RESOURCE to raise hard limits, no network setup.
RUN_FLAGS = ("--network none --pids-limit 0 --ulimit nofile=1024:1024 --ulimit nproc=4096:4096")

PROLOGUE = r"""
set -u
mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup || exit 99
P="podman --root $T/storage --runroot $RR --storage-driver vfs --runtime $OLRUN --cgroup-manager cgroupfs --events-backend file"
RUN="$P run %s"
IMG=localhost/olrun-bb
$P import $T/bb.tar $IMG > /dev/null || exit 98
""" % RUN_FLAGS


APPLETS = ("sh", "sleep", "echo", "cat", "grep", "hostname", "id", "true", "ps")


def prepare(tmp_path, applets=APPLETS, extra_files=(), dirs=()):
    """The busybox image's tar for PROLOGUE, and its environment.  Returns
    (env, runroot); the caller removes runroot."""
    rootfs = tmp_path / "bb-rootfs"
    (rootfs / "bin").mkdir(parents=True)
    for d in dirs:
        (rootfs / d).mkdir(parents=True)
    shutil.copy2("/bin/busybox", rootfs / "bin/busybox")
    for a in applets:
        os.symlink("busybox", rootfs / "bin" / a)
    for src, dest in extra_files:
        shutil.copy2(src, rootfs / dest)
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tmp_path / "bb.tar"), "."], check=True)
    # podman refuses a runroot longer than 50 characters.
    runroot = tempfile.mkdtemp(prefix="olrun-pm-", dir="/tmp")
    return dict(os.environ, T=str(tmp_path), RR=runroot, OLRUN=os.path.abspath(OLRUN)), runroot


def run_podman(tmp_path, body, applets=APPLETS, timeout=240, extra_files=()):
    env, runroot = prepare(tmp_path, applets, extra_files)
    try:
        return subprocess.run(["unshare", "-m", "sh", "-c", PROLOGUE + body + "\n$P rmi -a -f > /dev/null 2>&1\n"],
                              env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(runroot, ignore_errors=True)
