"""exec: the new process is in the container (namespaces, cgroup, root,
capabilities, seccomp), gets the options, and fails as runc does."""
import contextlib
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import wait_for
from pty_lib import converse


@pytest.fixture
def running(olrun):
    """Starts a container (sleep) from a bundle and deletes it afterwards.
    Returns a helper with the id, the init's host pid and exec shortcuts."""
    made = []

    def start(b, args=("sleep", "1000"), create_args=()):
        b.args(*args)
        cid = olrun.new_id()
        olrun.run("run", "-d", *create_args, "-b", b.path, cid, check=True)
        made.append(cid)
        return Container(olrun, cid)

    yield start
    for cid in made:
        olrun.run("delete", "--force", cid)


class Container:
    def __init__(self, olrun, cid):
        self.olrun = olrun
        self.id = cid
        self.pid = olrun.state(cid)["pid"]

    def exec(self, *args, opts=(), **kw):
        return self.olrun.run("exec", *opts, self.id, *args, **kw)

    def sh(self, script, opts=()):
        p = self.exec("sh", "-c", script, opts=opts)
        assert p.returncode == 0, p.stderr
        return p.stdout


def status_fields(text, keys):
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        if k in keys:
            out[k] = v.strip()
    return out


NS = ("mnt", "pid", "net", "ipc", "uts", "cgroup", "user", "time")
STATUS_KEYS = ("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp",
               "Seccomp_filters")


def test_same_namespaces_cgroup_caps_seccomp(running, bundle):
    bundle.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
    c = running(bundle)
    # Seen from the host, the init's namespaces are not ours: the test
    # would pass vacuously otherwise.
    host = {n: os.readlink("/proc/self/ns/%s" % n) for n in NS}
    init = {n: os.readlink("/proc/%d/ns/%s" % (c.pid, n)) for n in NS}
    assert init["mnt"] != host["mnt"] and init["pid"] != host["pid"] and init["net"] != host["net"]
    script = "; ".join("echo %s $(readlink /proc/self/ns/%s)" % (n, n) for n in NS)
    mine = dict(line.split() for line in c.sh(script).splitlines())
    assert mine == init
    # Capabilities, no_new_privs, seccomp and ids as the container's process.
    mine = status_fields(c.sh("cat /proc/self/status"), STATUS_KEYS)
    with open("/proc/%d/status" % c.pid) as f:
        theirs = status_fields(f.read(), STATUS_KEYS)
    assert mine == theirs and mine["Seccomp"] == "2", (mine, theirs)
    # The filter itself is in force.
    assert "Operation not permitted" in c.exec("mkdir", "/tmp/x").stderr


def test_cgroup_and_root_from_the_host(running, bundle, olrun, tmp_path):
    c = running(bundle)
    pidfile = tmp_path / "exec.pid"
    p = c.exec("sleep", "1000", opts=("-d", "--pid-file", pidfile))
    assert p.returncode == 0, p.stderr
    text = pidfile.read_text()
    assert not text.endswith("\n")
    pid = int(text)
    with open("/proc/%d/cgroup" % pid) as a, open("/proc/%d/cgroup" % c.pid) as b:
        assert a.read() == b.read()
    assert os.readlink("/proc/%d/root" % pid) == "/"
    assert os.stat("/proc/%d/root/bin/busybox" % pid).st_ino == os.stat("/proc/%d/root/bin/busybox" % c.pid).st_ino
    # The detached process outlives olrun, and is in the container's pid namespace.
    assert os.readlink("/proc/%d/ns/pid" % pid) == os.readlink("/proc/%d/ns/pid" % c.pid)
    with open("/proc/%d/status" % pid) as f:
        nspid = status_fields(f.read(), ("NSpid",))["NSpid"].split()
    assert nspid[0] == str(pid) and int(nspid[-1]) > 1


def test_exit_status_and_signals(running, bundle):
    c = running(bundle)
    assert c.exec("sh", "-c", "exit 42").returncode == 42
    assert c.exec("sh", "-c", "kill -9 $$").returncode == 137
    assert c.exec("true").returncode == 0


def test_signals_are_forwarded(running, bundle, olrun):
    c = running(bundle)
    proc = subprocess.Popen(olrun.cmd("exec", c.id, "sh", "-c",
                                      "trap 'echo got-term; exit 7' TERM; echo ready; "
                                      "while :; do sleep 0.05; done"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 7, err
    assert "got-term" in out


def test_cannot_start(running, bundle):
    c = running(bundle)
    p = c.exec("no-such-binary")
    assert p.returncode == 127
    assert "executable file `no-such-binary` not found in $PATH: No such file or directory" in p.stderr
    p = c.exec("/no/such/path")
    assert p.returncode == 127 and "No such file or directory" in p.stderr
    p = c.exec("/etc")
    assert p.returncode == 126 and "Permission denied" in p.stderr
    p = c.exec("true", opts=("--cwd", "/no-such-dir"))
    assert p.returncode == 126 and "`/no-such-dir`" in p.stderr
    # Detached: the same error, before olrun returns.
    p = c.exec("no-such-binary", opts=("-d",))
    assert p.returncode == 127 and "not found" in p.stderr


def test_states_as_runc(running, olrun, bundle):
    # A created container: exec works (runc and crun allow it too).
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    olrun.run("create", "-b", bundle.path, cid, check=True)
    p = olrun.run("exec", cid, "sh", "-c", "echo in-created")
    assert p.returncode == 0 and p.stdout == "in-created\n", p.stderr
    assert olrun.state(cid)["status"] == "created"
    olrun.run("delete", "--force", cid, check=True)
    # Unknown.
    p = olrun.run("exec", "no-such-container", "true")
    assert p.returncode == 255 and "does not exist" in p.stderr
    # Paused.
    c = running(bundle)
    olrun.run("pause", c.id, check=True)
    assert wait_for(lambda: olrun.state(c.id)["status"] == "paused")
    p = c.exec("true")
    assert p.returncode == 255
    assert "cannot exec in a paused container (use --ignore-paused to override)" in p.stderr
    # --ignore-paused: the process is born frozen and runs on resume.
    proc = subprocess.Popen(olrun.cmd("exec", "--ignore-paused", c.id, "sh", "-c", "echo resumed"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    assert proc.poll() is None
    olrun.run("resume", c.id, check=True)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and out == "resumed\n", err
    # Stopped.
    olrun.run("kill", c.id, "KILL", check=True)
    assert wait_for(lambda: olrun.state(c.id)["status"] == "stopped")
    p = c.exec("true")
    assert p.returncode == 255 and "cannot exec in a stopped container" in p.stderr


def test_user(running, own_bundle):
    with open(os.path.join(own_bundle.rootfs, "etc/passwd"), "a") as f:
        # A user named like a number: `-u 1000` must still mean uid 1000.
        f.write("1000:x:0:0:trap:/:/bin/sh\n")
    with open(os.path.join(own_bundle.rootfs, "etc/group"), "a") as f:
        f.write("wheel:x:10:user,other\nstaff:x:50:\n")
    c = running(own_bundle)
    ids = "echo $(id -u) $(id -g) $(id -G)"
    # runc: a bare uid changes the uid only (CVE-2026-30892: `-u 1` is uid 1, not 0).
    assert c.sh(ids, opts=("-u", "1")).split() == ["1", "0", "0"]
    assert c.sh(ids, opts=("-u", "1000")).split()[:2] == ["1000", "0"]
    assert c.sh(ids, opts=("-u", "1000:1000")).split() == ["1000", "1000", "1000"]
    # A name takes its primary group and its memberships.
    assert c.sh(ids, opts=("-u", "user")).split() == ["1000", "1000", "1000", "10"]
    assert c.sh(ids, opts=("-u", "user:staff")).split()[:2] == ["1000", "50"]
    assert c.sh(ids, opts=("-u", "nobody", "-g", "5", "-g", "6")).split() == ["65534", "65534", "65534", "5", "6"]
    for bad, why in (("4294967295", "out of range"), ("99999999999", "out of range"), ("1:", "expected"),
                     (":0", "expected"), ("ghost", "not in the container's /etc/passwd"),
                     ("1:ghosts", "not in the container's /etc/group")):
        p = c.exec("true", opts=("-u", bad))
        assert p.returncode == 255 and why in p.stderr, (bad, p.stderr)


def test_user_database_stays_in_the_container(running, own_bundle, tmp_path):
    # /etc/passwd is a link to a host path: it must be resolved in the
    # container's root, not followed to the host's file.
    host = tmp_path / "host-passwd"
    host.write_text("evil:x:4242:4242::/:/bin/sh\n")
    os.unlink(os.path.join(own_bundle.rootfs, "etc/passwd"))
    os.symlink(str(host), os.path.join(own_bundle.rootfs, "etc/passwd"))
    c = running(own_bundle)
    p = c.exec("id", opts=("-u", "evil"))
    assert p.returncode == 255 and "4242" not in p.stdout, p.stdout


def test_env_cwd_caps_nnp(running, bundle):
    bundle.process["noNewPrivileges"] = False
    c = running(bundle)
    out = c.sh("echo $TERM; echo $NEW; env | grep -c ^TERM=; pwd", opts=("-e", "TERM=dumb", "-e", "NEW=x=y",
                                                                        "--cwd", "/tmp"))
    assert out.split() == ["dumb", "x=y", "1", "/tmp"]
    st = status_fields(c.sh("cat /proc/self/status", opts=("-c", "CAP_SYS_ADMIN", "--no-new-privs")),
                       STATUS_KEYS)
    assert int(st["CapEff"], 16) & (1 << 21) and int(st["CapBnd"], 16) & (1 << 21)
    assert st["NoNewPrivs"] == "1"
    st = status_fields(c.sh("cat /proc/self/status"), STATUS_KEYS)
    assert not int(st["CapEff"], 16) & (1 << 21) and st["NoNewPrivs"] == "0"
    assert c.exec("true", opts=("-c", "CAP_NO_SUCH")).returncode == 255
    assert c.exec("true", opts=("-e", "NOVALUE")).returncode == 255


def test_process_file(running, bundle, olrun, tmp_path):
    c = running(bundle)
    proc = {"args": ["sh", "-c", "echo $A $(id -u) $(pwd)"], "env": ["A=from-file", "PATH=/bin"],
            "cwd": "/tmp", "user": {"uid": 1000, "gid": 1000}}
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    p = olrun.run("exec", "-p", f, c.id)
    assert p.returncode == 0 and p.stdout.split() == ["from-file", "1000", "/tmp"], p.stderr
    # From stdin, with the command line's args on top.
    p = olrun.run("exec", "--process", "-", c.id, "sh", "-c", "echo $A", input=json.dumps(proc))
    assert p.returncode == 0 and p.stdout == "from-file\n", p.stderr
    f.write_text('{"args": ["true"], "cwd": "relative"}')
    p = olrun.run("exec", "-p", f, c.id)
    assert p.returncode == 255 and "cwd: must be an absolute path" in p.stderr


def test_no_host_fds(running, bundle, olrun):
    c = running(bundle)
    r, w = os.pipe()
    try:
        # fd 3 of olrun's caller is not passed on unless preserved.
        script = "ls /proc/self/fd | sort -n | tr '\\n' ' '"
        p = subprocess.run(olrun.cmd("exec", c.id, "sh", "-c", script), capture_output=True, text=True,
                           pass_fds=(w,), timeout=30)
        assert p.stdout.split() == ["0", "1", "2", "3"], p.stdout  # 3: ls's own directory fd
        cmd = " ".join(olrun.cmd("exec", "--preserve-fds", "1", c.id, "sh", "-c", "'echo via-fd >&3'"))
        p = subprocess.run(["bash", "-c", "exec %s 3>&%d %d>&-" % (cmd, w, w)], capture_output=True, text=True,
                           timeout=30, pass_fds=(w,))
        assert p.returncode == 0, p.stderr
        os.close(w)
        w = -1
        assert os.read(r, 100) == b"via-fd\n"
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_concurrent_execs(running, bundle, olrun):
    c = running(bundle)
    procs = [subprocess.Popen(olrun.cmd("exec", c.id, "sh", "-c", "echo n=%d; cat /proc/self/cgroup" % i),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(50)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs if e]
    assert sorted(o.splitlines()[0] for o, _ in outs) == sorted("n=%d" % i for i in range(50))
    assert all(o.splitlines()[1:] == outs[0][0].splitlines()[1:] for o, _ in outs)


def test_no_pivot_container(running, own_bundle):
    open(os.path.join(own_bundle.rootfs, "marker"), "w").close()
    c = running(own_bundle, create_args=("--no-pivot",))
    assert "marker" in c.sh("ls /").split()


def test_shared_pid_namespace(running, bundle):
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "pid"]
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] != "/proc"]
    c = running(bundle)
    assert c.exec("true").returncode == 0
    assert os.readlink("/proc/%d/ns/pid" % c.pid) == os.readlink("/proc/self/ns/pid")


def test_user_namespace(running, bundle, tmp_path):
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c = running(bundle)
    out = c.sh("id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user")
    lines = out.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == os.readlink("/proc/%d/ns/user" % c.pid)
    # Seen from the host, the process runs as the mapped uid.
    c.exec("sleep", "1000", opts=("-d", "--pid-file", tmp_path / "pid"), check=True)
    with open("/proc/%s/status" % (tmp_path / "pid").read_text()) as f:
        assert status_fields(f.read(), ("Uid",))["Uid"].split()[0] == "100000"


def test_tty_console_socket_detached(running, bundle, olrun, tmp_path):
    from test_terminal import ConsoleSocket
    c = running(bundle)
    cs = ConsoleSocket(tmp_path / "console.sock")
    try:
        p = c.exec("sh", "-c", "tty; stty size; echo $$; read x; echo got:$x",
                   opts=("-t", "-d", "--console-socket", cs.path, "--pid-file", tmp_path / "pid"))
        assert p.returncode == 0, p.stderr
        cs.thread.join(timeout=5)
        assert cs.master is not None and cs.payload
        out = cs.read_until(b"\n", timeout=10)
        while out.count("\n") < 3:
            out += cs.read_until(b"\n", timeout=10)
        lines = out.replace("\r", "").splitlines()
        assert lines[0].startswith("/dev/pts/"), lines
        # The pty is the container's: its devpts, visible to its processes.
        assert c.exec("test", "-c", lines[0]).returncode == 0
        # The process leads its own session on the pty (it is pid $$ in the container).
        os.write(cs.master, b"hello\n")
        assert "got:hello" in cs.read_until(b"got:hello")
        assert wait_for(lambda: not os.path.exists("/proc/%s" % (tmp_path / "pid").read_text()))
    finally:
        cs.close()
    # Without a socket a detached terminal has no taker; a socket without -t nothing to take.
    p = c.exec("true", opts=("-t", "-d"))
    assert p.returncode == 255 and "--console-socket" in p.stderr
    p = c.exec("true", opts=("--console-socket", tmp_path / "console.sock"))
    assert p.returncode == 255 and "needs a terminal" in p.stderr


def test_tty_foreground_relays_callers_terminal(running, bundle, olrun):
    c = running(bundle)
    status, text, restored = converse(olrun.cmd("exec", "-t", c.id, "sh", "-c",
                                                "tty; stty size; read line; echo got:$line; exit 9"),
                                      b"33 111", b"hello\r", winsize=(33, 111))
    assert status == 9, text
    assert "/dev/pts/" in text and "33 111" in text and "got:hello" in text, text
    assert restored


@contextlib.contextmanager
def paused_exec_child(olrun, c, prefix=()):
    """An `exec` into the paused container c: its child is born in the
    frozen cgroup and stays olrun's code until resume.  Yields its pid;
    resumes and checks the exec succeeded after."""
    olrun.run("pause", c.id, check=True)
    proc = subprocess.Popen(list(prefix) + olrun.cmd("exec", "--ignore-paused", c.id, "true"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def child():
            try:
                with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
                    return f.read().split()
            except OSError:
                return []
        assert wait_for(lambda: child())
        yield int(child()[0])
    finally:
        olrun.run("resume", c.id, check=True)
        assert proc.wait(timeout=20) == 0


def test_child_never_exposes_a_writable_olrun(running, bundle, olrun):
    """CVE-2019-5736: until it execs, the exec'd process runs olrun's code,
    in the container's pid namespace.  Its /proc/PID/exe must not open for
    writing.  A paused container holds the child frozen before it runs
    (it is born in the frozen cgroup), so it can be looked at."""
    from test_security import exe_writable
    c = running(bundle)
    with paused_exec_child(olrun, c) as pid:
        exe = "/proc/%d/exe" % pid
        assert os.path.samefile(exe, os.path.abspath(olrun.cmd()[0]))
        # The binary's own mount is writable: the link goes through another.
        assert not exe_writable(os.path.abspath(olrun.cmd()[0]))[0]
        assert exe_writable(exe)[0], "the exe link is on a writable mount"


def test_exec_child_not_dumpable_until_exec(running, bundle, olrun):
    """Until it execs, the exec'd process runs olrun's code (holding its
    fds) in the container's pid namespace.  Without CAP_SYS_PTRACE, only
    dumpability keeps a process of the container (same uid) from
    ptracing it or opening its /proc/PID/exe: it must refuse.  Once
    exec'd, the process is dumpable again."""
    from test_security import NO_PTRACE
    c = running(bundle)
    # Both sides without CAP_SYS_PTRACE: equal capability sets, the same
    # uid, so only dumpability decides.
    with paused_exec_child(olrun, c, NO_PTRACE) as pid:
        probe = subprocess.run(NO_PTRACE + ["readlink", "/proc/%d/exe" % pid], capture_output=True, text=True)
        assert probe.returncode != 0 and probe.stdout == "", "the exec child is dumpable: " + probe.stdout
    assert c.exec("testinit", "dumpable").stdout.strip() == "1"


def test_container_attributes_and_lsm(running, bundle):
    # linux.personality and linux.memoryPolicy are the container's, so the
    # exec'd process has them as its init does.
    bundle.linux["personality"] = {"domain": "LINUX32"}
    bundle.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}
    c = running(bundle)
    mine = [l for l in c.exec("/bin/testinit", "attrs").stdout.splitlines() if l.startswith(("personality", "mempolicy"))]
    with open("/proc/%d/personality" % c.pid) as f:
        init = int(f.read(), 16)
    assert init == 8 and mine == ["personality 0x%x" % init, "mempolicy 2 0x1"], mine
    assert c.sh("uname -m").strip() == "i686"
    # An LSM label this host cannot apply is refused, not ignored.
    if not os.path.exists("/sys/module/apparmor"):
        p = c.exec("true", opts=("--apparmor", "some-profile"))
        assert p.returncode == 255 and "AppArmor is not enabled" in p.stderr
    if not os.path.isdir("/sys/fs/selinux/booleans"):
        p = c.exec("true", opts=("--process-label", "system_u:system_r:container_t:s0"))
        assert p.returncode == 255 and "SELinux is not enabled" in p.stderr


def test_time_namespace_with_offsets(running, bundle):
    bundle.linux["namespaces"].append({"type": "time"})
    bundle.linux["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}
    c = running(bundle)
    assert os.readlink("/proc/%d/ns/time" % c.pid) != os.readlink("/proc/self/ns/time")
    out = c.sh("readlink /proc/self/ns/time; cut -d. -f1 /proc/uptime").split()
    assert out[0] == os.readlink("/proc/%d/ns/time" % c.pid)
    # The container's boot time is a year earlier than the host's.
    with open("/proc/uptime") as f:
        host = int(f.read().split(".")[0])
    assert int(out[1]) - host >= 86400 * 365 - 60


def test_cwd_resolves_in_the_container(running, own_bundle, tmp_path):
    # A symlink that would lead out of the rootfs on the host stays inside
    # it: the cwd is resolved after the process has taken the container's root.
    os.makedirs(os.path.join(own_bundle.rootfs, "only-here/sub"))
    host_dir = tmp_path / "host-only"
    host_dir.mkdir()
    os.symlink("../../../../../../../../%s" % str(host_dir).lstrip("/"), os.path.join(own_bundle.rootfs, "escape"))
    os.symlink("/only-here/sub", os.path.join(own_bundle.rootfs, "lnk"))
    c = running(own_bundle)
    assert c.sh("pwd -P", opts=("--cwd", "/lnk")).strip() == "/only-here/sub"
    p = c.exec("pwd", opts=("--cwd", "/escape"))
    assert p.returncode == 126 and "No such file or directory" in p.stderr
