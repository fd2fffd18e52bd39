"""Detached instances: `olrun run -d`, olrun's own monitor, attach (with
the ctrl-p ctrl-q detach keys), logs, stop, and delete of the record."""
import os
import subprocess
import time

import pytest

from launcher_lib import Launcher, PtySession, leftovers, wait_for, write_image


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("detached-image")
    write_image(str(d / "layout"), cmd=["sh"])
    return {"ref": "oci:%s" % (d / "layout"), "cache": str(d / "cache")}


@pytest.fixture
def launcher(tmp_path, image):
    l = Launcher(str(tmp_path / "state"), image["cache"])
    yield l
    for cid in l.instances():
        l.olrun("stop", "-t", "0", cid)
        l.olrun("delete", cid)
    assert leftovers(l.root) == []


def detach(launcher, *args):
    p = launcher.run("-d", *args)
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    assert cid.startswith("olrun-") and cid in launcher.instances()
    return cid


def instance_file(launcher, cid, name):
    return os.path.join(launcher.root, ".launch", cid, name)


def finished(launcher, cid):
    return os.path.exists(instance_file(launcher, cid, "exit"))


def test_detached_run_logs_records_the_status_and_tears_down(launcher, image):
    cid = detach(launcher, image["ref"], "sh", "-c", "echo out; echo err >&2; read line; echo stdin:$line.; exit 7")
    assert wait_for(lambda: finished(launcher, cid))
    with open(instance_file(launcher, cid, "exit")) as f:
        assert f.read() == "7\n"
    logs = launcher.olrun("logs", cid)
    assert logs.returncode == 0
    # stdin is /dev/null without -i; both streams are in the log
    assert sorted(logs.stdout.splitlines()) == ["err", "out", "stdin:."]
    # torn down: no bundle, no container; the record stays for logs
    assert sorted(os.listdir(os.path.join(launcher.root, ".launch", cid))) == ["exit", "instance.json", "log"]
    assert not os.path.exists(os.path.join(launcher.root, cid))
    attach = launcher.olrun("attach", cid)
    assert attach.returncode == 1 and "exited with status 7" in attach.stderr
    assert launcher.olrun("delete", cid).returncode == 0
    assert launcher.instances() == []


def Terminal(launcher, cid, rows=24, cols=80):
    """`olrun attach ID` on a terminal of its own."""
    return PtySession(launcher.cmd("attach", cid), rows, cols)


def test_attach_type_detach_and_attach_again(launcher, image):
    cid = detach(launcher, "-t", "-i", image["ref"], "sh")
    t = Terminal(launcher, cid)
    t.type(b"echo hel''lo $((6*7))\r")
    assert t.read_until(b"hello 42"), t.out
    t.type(b"\x10\x11")                      # ctrl-p ctrl-q
    status, after = t.close()
    assert status == 0
    assert after == t.before                 # the terminal is restored
    assert not finished(launcher, cid)       # the container lives on
    t = Terminal(launcher, cid, rows=40, cols=120)
    t.type(b"stty size; exit 5\r")
    assert t.read_until(b"40 120"), t.out    # the new terminal's size reached the container
    status, _ = t.close()
    assert status == 5                       # attach ends with the container, with its status
    assert wait_for(lambda: finished(launcher, cid))
    logs = launcher.olrun("logs", cid).stdout
    assert "hello 42" in logs and "40 120" in logs


def test_ctrl_p_alone_is_passed_on(launcher, image):
    cid = detach(launcher, "-t", "-i", image["ref"], "sh", "-c", "stty raw -echo; head -c 3 | od -An -c")
    t = Terminal(launcher, cid)
    # ^P then `x`: both bytes reach the container
    t.type(b"A\x10x")
    assert t.read_until(b"A 020   x"), t.out
    assert t.close()[0] == 0


def test_interactive_pipes_without_a_terminal(launcher, image):
    cid = detach(launcher, "-i", image["ref"], "sh", "-c", "read a; echo got:$a; echo to-err >&2; exit 3")
    p = subprocess.run(launcher.cmd("attach", cid), input=b"line one\n", capture_output=True, timeout=30)
    assert p.returncode == 3
    assert p.stdout == b"got:line one\n" and p.stderr == b"to-err\n"


def test_stop_sends_term_then_kill(launcher, image):
    cid = detach(launcher, image["ref"], "sh", "-c", "trap 'echo term; exit 9' TERM; while :; do sleep 0.05; done")
    assert wait_for(lambda: "running" in launcher.olrun("state", cid).stdout)
    p = launcher.olrun("stop", cid)
    assert p.returncode == 0, p.stderr
    with open(instance_file(launcher, cid, "exit")) as f:
        assert f.read() == "9\n"                         # TERM was enough
    cid = detach(launcher, image["ref"], "sh", "-c", "trap '' TERM; while :; do sleep 0.05; done")
    assert wait_for(lambda: "running" in launcher.olrun("state", cid).stdout)
    assert launcher.olrun("stop", "-t", "1", cid).returncode == 0
    with open(instance_file(launcher, cid, "exit")) as f:
        assert f.read() == "137\n"                       # then SIGKILL
    assert not os.path.exists(os.path.join(launcher.root, cid))


def test_a_dead_monitor_is_cleaned_up_by_the_next_launch(launcher, image):
    cid = detach(launcher, image["ref"], "sleep", "300")
    monitor = [int(p) for p in os.listdir("/proc") if p.isdigit() and _holds(int(p), cid)]
    assert monitor
    for pid in monitor:
        os.kill(pid, 9)
    assert wait_for(lambda: launcher.olrun("attach", cid).returncode == 1)
    launcher.run(image["ref"], "true", check=True)
    assert launcher.instances() == []
    assert not os.path.exists(os.path.join(launcher.root, cid))


def _holds(pid, cid):
    """Whether process pid has the instance directory open (the monitor)."""
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).endswith("/.launch/" + cid):
                return True
    except OSError:
        pass
    return False


def test_logs_follow_until_the_instance_exits(launcher, image):
    cid = detach(launcher, image["ref"], "sh", "-c", "for i in 1 2 3; do echo line-$i; sleep 0.2; done")
    p = launcher.olrun("logs", "--follow", cid, timeout=30)
    assert p.returncode == 0
    assert p.stdout.split() == ["line-1", "line-2", "line-3"]
    assert finished(launcher, cid)
