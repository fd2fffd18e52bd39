"""podman --runtime olrun: exec, exec -it under a pty, exec -d, top.

podman (through conmon) calls `olrun exec --process FILE --detach
--pid-file ...`, with --tty and --console-socket for -t.  podman creates
cgroups in every hierarchy it sees, so it runs only in a private mount
namespace with the pure v2 view (DESIGN.md, build-host facts), with its
own storage under the test's directory.  The whole script runs on a pty
so that `podman exec -it` has a terminal to relay."""
import os
import pty
import select
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import OLRUN

SCRIPT = r"""
set -u
mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup || exit 99
P="podman --root $T/storage --runroot $RR --runtime $OLRUN --cgroup-manager cgroupfs --events-backend file"
$P import $T/bb.tar localhost/olrun-bb > /dev/null || exit 98
$P run -d --name pe --network none --pids-limit 0 --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
   localhost/olrun-bb /bin/sleep 1000 > /dev/null || exit 97
echo "exec=[$($P exec pe sh -c '[ $(readlink /proc/self/ns/mnt) = $(readlink /proc/1/ns/mnt) ] && echo same $(id -u)')]"
$P exec -e FOO=bar -w /tmp pe sh -c 'echo "env=[$FOO $(pwd)]"' < /dev/null
$P exec pe no-such-binary < /dev/null > /dev/null 2>&1; echo "noent=$?"
$P exec pe sh -c 'exit 3' < /dev/null; echo "status=$?"
$P exec -d pe sleep 777 > /dev/null; echo "detach=$?"
echo "top=[$($P top pe pid args | tr -s ' ' | tr '\n' ';')]"
$P exec -it pe sh -c 'tty; echo READY-TTY; read x; echo "got:$x"; exit 5'; echo "it=$?"
$P rm -f -t 0 pe > /dev/null 2>&1; echo "rm=$?"
$P rmi -a > /dev/null 2>&1
echo DONE
"""


def fields(text):
    out = {}
    for line in text.replace("\r", "").splitlines():
        k, sep, v = line.partition("=")
        if sep and k.isalpha():
            out[k] = v
    return out


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is not installed")
def test_podman_exec_top(tmp_path):
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    for d in ("etc", "tmp", "proc", "sys", "dev"):
        (rootfs / d).mkdir()
    (rootfs / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    shutil.copy2("/bin/busybox", rootfs / "bin/busybox")
    for a in ("sh", "sleep", "id", "readlink", "[", "tty", "ps", "pwd"):
        os.symlink("busybox", rootfs / "bin" / a)
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tmp_path / "bb.tar"), "."], check=True)
    # podman refuses a runroot longer than 50 characters.
    runroot = tempfile.mkdtemp(prefix="olrun-pm-", dir="/tmp")
    env = dict(os.environ, T=str(tmp_path), RR=runroot, OLRUN=os.path.abspath(OLRUN))
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(["unshare", "-m", "sh", "-c", SCRIPT], env=env, stdin=slave, stdout=slave,
                                stderr=slave, start_new_session=True)
        data, sent = b"", False
        end = time.time() + 240
        while b"DONE" not in data and time.time() < end:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    data += os.read(master, 4096)
                except OSError:
                    break
            if not sent and b"READY-TTY" in data:
                os.write(master, b"hello\r")
                sent = True
            if proc.poll() is not None and not r:
                break
        rc = proc.wait(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
        shutil.rmtree(runroot, ignore_errors=True)
    text = data.decode(errors="replace")
    assert rc == 0 and "DONE" in text, text
    out = fields(text)
    # Same mount namespace as the container's process, as root.
    assert out["exec"] == "[same 0]", text
    assert out["env"] == "[bar /tmp]", text
    assert out["noent"] == "127" and out["status"] == "3" and out["detach"] == "0", text
    # top: the container's processes, the detached exec among them.
    assert "sleep 1000" in out["top"] and "sleep 777" in out["top"], text
    # exec -it: a pty of its own, input relayed, the status passed back.
    assert "/dev/pts/" in text and "got:hello" in text and out["it"] == "5", text
    assert out["rm"] == "0", text
