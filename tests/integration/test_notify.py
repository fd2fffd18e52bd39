"""NOTIFY_SOCKET: the container's READY=1 reaches the caller, with MAINPID."""
import os
import socket
import subprocess

from conftest import wait_for


def listener(tmp_path):
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(20)
    return s, path


def test_run_forwards_ready(olrun, bundle, tmp_path):
    sock, path = listener(tmp_path)
    bundle.sh("echo $NOTIFY_SOCKET; testinit notify STATUS=starting; testinit notify READY=1; sleep 0.2")
    env = dict(os.environ, NOTIFY_SOCKET=path)
    cid = olrun.new_id()
    p = subprocess.Popen(olrun.cmd("run", "-b", bundle.path, cid), env=env, stdout=subprocess.PIPE, text=True)
    msg = sock.recv(4096).decode()
    pid = olrun.state(cid)["pid"]
    assert msg == "MAINPID=%d\nREADY=1\n" % pid
    assert p.wait(timeout=20) == 0
    assert p.stdout.read().strip() == "/run/notify/notify.sock"


def test_start_waits_for_ready(olrun, bundle, tmp_path):
    sock, path = listener(tmp_path)
    bundle.sh("sleep 0.3; testinit notify READY=1; exec sleep 1000")
    env = dict(os.environ, NOTIFY_SOCKET=path)
    cid = olrun.new_id()
    assert subprocess.run(olrun.cmd("create", "-b", bundle.path, cid), env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0
    assert subprocess.run(olrun.cmd("start", cid), env=env).returncode == 0
    # start returned only after the message was forwarded: it is there now.
    sock.settimeout(0.1)
    msg = sock.recv(4096).decode()
    assert msg == "MAINPID=%d\nREADY=1\n" % olrun.state(cid)["pid"]
    olrun.run("delete", "-f", cid, check=True)


def test_start_fails_if_container_exits_before_ready(olrun, bundle, tmp_path):
    sock, path = listener(tmp_path)
    bundle.args("true")
    env = dict(os.environ, NOTIFY_SOCKET=path)
    cid = olrun.new_id()
    subprocess.run(olrun.cmd("create", "-b", bundle.path, cid), env=env, stdout=subprocess.DEVNULL)
    p = subprocess.run(olrun.cmd("start", cid), env=env, capture_output=True, text=True)
    assert p.returncode == 1 and "exited before it was ready" in p.stderr
    olrun.run("delete", "-f", cid, check=True)
