"""The OCI lifecycle: create, start, run, state, kill, delete, list."""
import datetime
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import CGROUP2, wait_for


def test_run_exit_status_and_output(olrun, bundle):
    bundle.sh("echo hello from $(hostname); exit 42")
    cid = olrun.new_id()
    p = olrun.run("run", "-b", bundle.path, cid)
    assert p.returncode == 42, p.stderr
    assert p.stdout == "hello from olrun-test\n"
    # run removes the container afterwards
    assert not os.path.exists(os.path.join(olrun.root, cid))


def test_run_killed_by_signal_is_128_plus(olrun, bundle):
    # (pid 1 of a pid namespace cannot SIGKILL itself: kill it from the host)
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    proc = subprocess.Popen(olrun.cmd("run", "-b", bundle.path, cid))
    assert wait_for(lambda: olrun.run("state", cid).returncode == 0
                    and olrun.state(cid)["status"] == "running")
    os.kill(olrun.state(cid)["pid"], signal.SIGKILL)
    assert proc.wait(timeout=10) == 137


def test_run_keep_leaves_stopped_container(olrun, bundle):
    bundle.args("true")
    cid = olrun.new_id()
    assert olrun.run("run", "--keep", "-b", bundle.path, cid).returncode == 0
    assert olrun.state(cid)["status"] == "stopped"
    olrun.run("delete", cid, check=True)


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode()


def test_create_start_state_kill_delete(olrun, bundle, tmp_path):
    bundle.config["annotations"] = {"org.example.key": "value"}
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    pidfile = tmp_path / "pid"
    olrun.run("create", "-b", bundle.path, "--pid-file", pidfile, cid, check=True)
    st = olrun.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["bundle"] == bundle.path
    assert st["annotations"] == {"org.example.key": "value"}
    assert st["ociVersion"].startswith("1.")
    datetime.datetime.fromisoformat(st["created"][:26])  # RFC 3339
    pid = st["pid"]
    # --pid-file: the decimal pid, no newline
    assert pidfile.read_text() == str(pid)
    # Before start, the init has not exec'd the user's process.
    assert cmdline(pid) != "sleep"
    # The process is in the container's own cgroup from birth.
    with open(os.path.join(CGROUP2, "olrun", cid, "cgroup.procs")) as f:
        assert str(pid) in f.read().split()

    olrun.run("start", cid, check=True)
    assert olrun.state(cid)["status"] == "running"
    assert cmdline(pid) == "sleep"
    p = olrun.run("start", cid)
    assert p.returncode == 1 and "running" in p.stderr

    p = olrun.run("delete", cid)
    assert p.returncode == 1 and "running" in p.stderr

    olrun.run("kill", cid, "KILL", check=True)
    assert wait_for(lambda: olrun.state(cid)["status"] == "stopped")
    assert "pid" not in olrun.state(cid)
    p = olrun.run("kill", cid, "TERM")
    assert p.returncode == 1 and "container not running" in p.stderr
    olrun.run("delete", cid, check=True)
    p = olrun.run("state", cid)
    assert p.returncode == 1 and "does not exist" in p.stderr
    assert not os.path.exists(os.path.join(CGROUP2, "olrun", cid))


@pytest.mark.parametrize("sig,expect", [("9", 137), ("KILL", 137), ("SIGKILL", 137), ("SIGUSR1", 3)])
def test_kill_signal_forms(olrun, bundle, sig, expect):
    # pid 1 only gets the signals it handles: trap them.
    bundle.sh("trap 'exit 3' USR1; while :; do sleep 0.05; done")
    cid = olrun.new_id()
    proc = subprocess.Popen(olrun.cmd("run", "-b", bundle.path, cid))
    assert wait_for(lambda: olrun.run("state", cid).returncode == 0
                    and olrun.state(cid)["status"] == "running")
    olrun.run("kill", cid, sig, check=True)
    assert proc.wait(timeout=10) == expect


def test_kill_unknown_signal(olrun, bundle):
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    olrun.run("create", "-b", bundle.path, cid, check=True)
    p = olrun.run("kill", cid, "SIGBOGUS")
    assert p.returncode == 1 and "unknown signal" in p.stderr
    olrun.run("delete", "--force", cid, check=True)


def test_kill_default_is_sigterm(olrun, bundle):
    bundle.sh("trap 'exit 7' TERM; while :; do sleep 0.05; done")
    cid = olrun.new_id()
    proc = subprocess.Popen(olrun.cmd("run", "-b", bundle.path, cid))
    assert wait_for(lambda: olrun.run("state", cid).returncode == 0
                    and olrun.state(cid)["status"] == "running")
    time.sleep(0.2)
    olrun.run("kill", cid, check=True)
    assert proc.wait(timeout=10) == 7


def test_kill_all_signals_every_process(olrun, bundle):
    bundle.sh("sleep 1000 & sleep 1000 & wait")
    cid = olrun.new_id()
    olrun.run("run", "-d", "-b", bundle.path, cid, check=True)
    procs = os.path.join(CGROUP2, "olrun", cid, "cgroup.procs")
    assert wait_for(lambda: len(open(procs).read().split()) == 3)
    olrun.run("kill", "--all", cid, "KILL", check=True)
    assert wait_for(lambda: open(procs).read().split() == [])
    olrun.run("delete", cid, check=True)


def test_stopped_without_anyone_waiting(olrun, bundle):
    bundle.args("true")
    cid = olrun.new_id()
    olrun.run("create", "-b", bundle.path, cid, check=True)
    olrun.run("start", cid, check=True)
    # Nobody waits for the process (create exited); it still reads stopped.
    assert wait_for(lambda: olrun.state(cid)["status"] == "stopped")
    olrun.run("delete", cid, check=True)


def test_delete_created_container(olrun, bundle):
    bundle.args("true")
    cid = olrun.new_id()
    olrun.run("create", "-b", bundle.path, cid, check=True)
    pid = olrun.state(cid)["pid"]
    olrun.run("delete", cid, check=True)
    assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"


def test_delete_force(olrun, bundle):
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    olrun.run("run", "-d", "-b", bundle.path, cid, check=True)
    pid = olrun.state(cid)["pid"]
    olrun.run("delete", "--force", cid, check=True)
    assert wait_for(lambda: not os.path.exists("/proc/%d" % pid)
                    or open("/proc/%d/stat" % pid).read().split()[2] == "Z")
    assert olrun.run("delete", "--force", cid).returncode == 0
    assert olrun.run("delete", "-f", "never-existed").returncode == 0
    p = olrun.run("delete", "never-existed")
    assert p.returncode == 1 and "does not exist" in p.stderr


def test_duplicate_id(olrun, bundle):
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    olrun.run("create", "-b", bundle.path, cid, check=True)
    pid = olrun.state(cid)["pid"]
    p = olrun.run("create", "-b", bundle.path, cid)
    assert p.returncode == 1 and "already exists" in p.stderr
    # The failed create must not have touched the existing container.
    assert olrun.state(cid)["pid"] == pid
    olrun.run("delete", cid, check=True)


def test_duplicate_id_race(olrun, bundle):
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    # Output to files: the winner's container keeps its stdio open.
    errs = [tempfile.TemporaryFile("w+") for _ in range(4)]
    procs = [subprocess.Popen(olrun.cmd("create", "-b", bundle.path, cid), stdout=subprocess.DEVNULL,
                              stderr=e, text=True) for e in errs]
    results = []
    for p, e in zip(procs, errs):
        rc = p.wait(timeout=30)
        e.seek(0)
        results.append((rc, e.read()))
    assert sorted(r[0] for r in results) == [0, 1, 1, 1], results
    assert all("already exists" in err for rc, err in results if rc)
    olrun.run("delete", "--force", cid, check=True)


@pytest.mark.parametrize("cid", ["", ".", "..", "a/b", "a b", "x" * 1025, "../escape", "tab\t"])
def test_invalid_ids_refused(olrun, bundle, cid):
    p = olrun.run("create", "-b", bundle.path, cid)
    assert p.returncode == 1
    assert "invalid container ID" in p.stderr or "expected ID" in p.stderr
    assert not os.path.exists(olrun.root) or os.listdir(olrun.root) == []


def test_longest_valid_id(olrun, bundle):
    bundle.args("sleep", "1000")
    cid = "a" * 1024
    olrun.ids.append(cid)
    olrun.run("create", "-b", bundle.path, cid, check=True)
    assert olrun.state(cid)["id"] == cid
    assert olrun.run("list", "-q", check=True).stdout.split() == [cid]
    olrun.run("delete", "--force", cid, check=True)


def test_list_formats(olrun, bundle):
    bundle.args("sleep", "1000")
    a, b = olrun.new_id("a"), olrun.new_id("b")
    olrun.run("create", "-b", bundle.path, a, check=True)
    olrun.run("run", "-d", "-b", bundle.path, b, check=True)
    listed = json.loads(olrun.run("list", "--format", "json", check=True).stdout)
    by_id = {e["id"]: e for e in listed}
    assert by_id[a]["status"] == "created" and by_id[b]["status"] == "running"
    assert olrun.run("list", "-q", check=True).stdout.split() == sorted([a, b])
    table = olrun.run("list", check=True).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert len(table) == 3
    for cid in (a, b):
        olrun.run("delete", "-f", cid, check=True)
    assert json.loads(olrun.run("list", "--format", "json").stdout) == []


def test_pid_reuse_never_signalled(olrun, bundle):
    """state.json names a pid now used by someone else: not our container."""
    bundle.args("true")
    cid = olrun.new_id()
    olrun.run("run", "--keep", "-b", bundle.path, cid, check=True)
    victim = subprocess.Popen(["sleep", "1000"])
    try:
        path = os.path.join(olrun.root, cid, "state.json")
        st = json.load(open(path))
        st["pid"] = victim.pid  # the start time stays the container's
        st["status"] = "running"
        json.dump(st, open(path, "w"))
        assert olrun.state(cid)["status"] == "stopped"
        p = olrun.run("kill", cid, "KILL")
        assert p.returncode == 1 and "not running" in p.stderr
        assert olrun.run("delete", "--force", cid).returncode == 0
        assert victim.poll() is None, "a reused pid was signalled"
    finally:
        victim.kill()
        victim.wait()


def test_help_and_unknown(olrun):
    p = olrun.run("create", "--help")
    assert p.returncode == 0 and "--pid-file" in p.stdout
    p = olrun.run("create", "--bogus", "x")
    assert p.returncode == 1 and "unknown option" in p.stderr
    p = olrun.run("frobnicate")
    assert p.returncode == 1 and "unknown command" in p.stderr


def test_sigkill_midway_then_delete_force(olrun, bundle, tmp_path):
    """olrun killed in the middle of create: delete --force cleans it all."""
    marker = tmp_path / "hook-ran"
    bundle.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "touch %s; sleep 1000" % marker]}]}
    bundle.args("true")
    cid = olrun.new_id()
    proc = subprocess.Popen(olrun.cmd("create", "-b", bundle.path, cid))
    assert wait_for(marker.exists)
    assert olrun.state(cid)["status"] == "creating"
    # The container's process: the one in its cgroup that is not the hook.
    procs = open(os.path.join(CGROUP2, "olrun", cid, "cgroup.procs")).read().split()
    assert len(procs) == 1
    pid = int(procs[0])
    proc.kill()
    proc.wait()
    # The container's process dies with olrun (PDEATHSIG), before any start.
    assert wait_for(lambda: not os.path.exists("/proc/%d" % pid)
                    or open("/proc/%d/stat" % pid).read().split()[2] == "Z")
    subprocess.run(["pkill", "-f", "touch %s; sleep 1000" % marker])
    olrun.run("delete", "--force", cid, check=True)


def test_delete_force_with_unreadable_state(olrun, bundle):
    """After a crash: the state.json truncated, the cgroup gone with the
    reboot.  delete --force still removes what is left."""
    bundle.args("true")
    cid = olrun.new_id()
    olrun.run("run", "--keep", "-b", bundle.path, cid, check=True)
    os.rmdir(os.path.join(CGROUP2, "olrun", cid))
    open(os.path.join(olrun.root, cid, "state.json"), "w").close()
    p = olrun.run("delete", cid)
    assert p.returncode == 1 and "state.json" in p.stderr
    p = olrun.run("delete", "--force", cid)
    assert p.returncode == 0 and "warning" in p.stderr
    assert not os.path.exists(os.path.join(olrun.root, cid))
