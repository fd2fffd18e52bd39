"""podman --runtime olrun: exec, exec -it under a pty, exec -d, top.

podman (through conmon) calls `olrun exec --process FILE --detach
--pid-file ...`, with --tty and --console-socket for -t.  The script runs
on a pty so that `podman exec -it` has a terminal to relay."""
import shutil

from podman_lib import PROLOGUE, needs_podman, prepare
from pty_lib import converse

BODY = r"""
$RUN -d --name pe $IMG /bin/sleep 1000 > /dev/null || exit 97
echo "exec=[$($P exec pe sh -c '[ $(readlink /proc/self/ns/mnt) = $(readlink /proc/1/ns/mnt) ] && echo same $(id -u)')]"
$P exec -e FOO=bar -w /tmp pe sh -c 'echo "env=[$FOO $(pwd)]"' < /dev/null
$P exec pe no-such-binary < /dev/null > /dev/null 2>&1; echo "noent=$?"
$P exec pe sh -c 'exit 3' < /dev/null; echo "status=$?"
$P exec -d pe sleep 777 > /dev/null; echo "detach=$?"
echo "top=[$($P top pe pid args | tr -s ' ' | tr '\n' ';')]"
$P exec -it pe sh -c 'tty; echo READY-TTY; read x; echo "got:$x"; exit 5'; echo "it=$?"
$P rm -f -t 0 pe > /dev/null 2>&1; echo "rm=$?"
$P rmi -a -f > /dev/null 2>&1
echo DONE
"""


def fields(text):
    out = {}
    for line in text.replace("\r", "").splitlines():
        k, sep, v = line.partition("=")
        if sep and k.isalpha():
            out[k] = v
    return out


@needs_podman
def test_podman_exec_top(tmp_path):
    env, runroot = prepare(tmp_path, applets=("sh", "sleep", "id", "readlink", "[", "tty", "ps", "pwd"),
                           dirs=("etc", "tmp", "proc", "sys", "dev"))
    try:
        rc, text, _ = converse(["unshare", "-m", "sh", "-c", PROLOGUE + BODY], b"READY-TTY", b"hello\r", env=env,
                               deadline=240, until=b"DONE")
    finally:
        shutil.rmtree(runroot, ignore_errors=True)
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
