"""The container's process: user, env, cwd, PATH, rlimits, caps, fds."""
import os
import subprocess

import pytest


def run(olrun, bundle, script, *extra, **kw):
    bundle.sh(script)
    return olrun.run("run", *extra, "-b", bundle.path, olrun.new_id(), **kw)


def out_of(olrun, bundle, script, *extra, **kw):
    p = run(olrun, bundle, script, *extra, **kw)
    assert p.returncode == 0, p.stderr
    return p.stdout


def status_field(out, name):
    for line in out.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("%s not in %s" % (name, out))


def test_user_uid_gid_additional_groups(olrun, bundle):
    bundle.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 65534]}
    out = out_of(olrun, bundle, "id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups)' /proc/self/status")
    lines = out.splitlines()
    assert lines[:3] == ["1000", "1000", "1000 5 65534"] or lines[:2] == ["1000", "1000"]
    assert sorted(status_field(out, "Groups").split()) == ["5", "65534"]
    assert status_field(out, "Uid").split() == ["1000"] * 4


def test_umask(olrun, bundle):
    bundle.process["user"]["umask"] = 0o077
    assert out_of(olrun, bundle, "umask").strip() == "0077"


def test_default_umask(olrun, bundle):
    assert out_of(olrun, bundle, "umask").strip() == "0022"


def test_env_and_cwd(olrun, bundle):
    bundle.process["env"] = ["FOO=bar baz", "PATH=/bin"]
    bundle.process["cwd"] = "/proc"
    assert out_of(olrun, bundle, 'echo "$FOO"; pwd').splitlines() == ["bar baz", "/proc"]


def test_cwd_missing(olrun, bundle):
    bundle.process["cwd"] = "/does/not/exist"
    p = run(olrun, bundle, "true")
    assert p.returncode != 0 and "/does/not/exist" in p.stderr


def test_path_resolution_uses_container_path(olrun, bundle):
    bundle.process["env"] = ["PATH=/nowhere:/bin"]
    bundle.args("busybox", "echo", "found")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout == "found\n"


def test_missing_executable_exit_127(olrun, bundle):
    bundle.args("no-such-binary")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 127
    assert "`no-such-binary` not found in $PATH" in p.stderr
    # ... and create fails with the same words, leaving nothing behind.
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "not found" in p.stderr


def test_not_executable_exit_126(olrun, bundle):
    bundle.args("/etc/passwd")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 126, p.stderr


def test_rlimits(olrun, bundle):
    bundle.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
                                 {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    out = out_of(olrun, bundle, "grep -E 'open files|core file' /proc/self/limits")
    lines = {l.split("  ")[0]: l.split() for l in out.splitlines()}
    assert lines["Max open files"][3:5] == ["123", "456"]
    assert lines["Max core file size"][4:6] == ["0", "0"]


def test_rlimit_raise_refused_clearly(olrun, bundle):
    # The bounding set here has no CAP_SYS_RESOURCE: a hard limit above ours
    # cannot be set, and the error says so.
    bundle.process["rlimits"] = [{"type": "RLIMIT_MEMLOCK", "soft": 2 ** 40, "hard": 2 ** 40}]
    import resource
    hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("this host can raise RLIMIT_MEMLOCK")
    p = run(olrun, bundle, "true")
    assert p.returncode != 0 and "CAP_SYS_RESOURCE" in p.stderr


def test_unknown_rlimit(olrun, bundle):
    bundle.process["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]
    p = run(olrun, bundle, "true")
    assert p.returncode == 1 and "unknown rlimit `RLIMIT_BOGUS`" in p.stderr


def test_no_new_privileges(olrun, bundle):
    assert status_field(out_of(olrun, bundle, "cat /proc/self/status"), "NoNewPrivs") == "1"
    bundle.process["noNewPrivileges"] = False
    assert status_field(out_of(olrun, bundle, "cat /proc/self/status"), "NoNewPrivs") == "0"


def test_capabilities_as_configured(olrun, bundle):
    out = out_of(olrun, bundle, "cat /proc/self/status")
    # CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE (10)
    want = "%016x" % ((1 << 29) | (1 << 5) | (1 << 10))
    for f in ("CapBnd", "CapPrm", "CapEff"):
        assert status_field(out, f) == want, f
    assert status_field(out, "CapInh") == "0" * 16


def test_empty_capabilities(olrun, bundle):
    bundle.process["capabilities"] = {}
    out = out_of(olrun, bundle, "cat /proc/self/status")
    for f in ("CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"):
        assert status_field(out, f) == "0" * 16, f


def test_non_root_user_with_capabilities(olrun, bundle):
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    bundle.process["capabilities"] = {k: ["CAP_NET_BIND_SERVICE"] for k in
                                      ("bounding", "effective", "permitted", "inheritable", "ambient")}
    out = out_of(olrun, bundle, "cat /proc/self/status")
    want = "%016x" % (1 << 10)
    for f in ("CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"):
        assert status_field(out, f) == want, f


def test_oom_score_adj(olrun, bundle):
    bundle.process["oomScoreAdj"] = 500
    assert out_of(olrun, bundle, "cat /proc/self/oom_score_adj").strip() == "500"


def test_only_stdio_fds_reach_the_container(olrun, bundle, tmp_path):
    # An fd leaked by the caller must not reach the container.
    leak = open(tmp_path / "leak", "w")
    out = out_of(olrun, bundle, "ls /proc/self/fd", pass_fds=(leak.fileno(),))
    leak.close()
    # ls itself holds one fd open on the directory it lists.
    assert sorted(int(x) for x in out.split())[:3] == [0, 1, 2]
    assert len(out.split()) == 4, out


def with_fds(olrun, tmp_path, args, env=None):
    """Run olrun with fd 3 open on /dev/null and fd 4 on a file (set up by a
    shell, so the test process's own fds are left alone)."""
    out = tmp_path / "fd4"
    cmd = " ".join("'%s'" % a for a in olrun.cmd(*args))
    p = subprocess.run(["sh", "-c", "exec 3</dev/null 4>%s; exec %s" % (out, cmd)], capture_output=True,
                       text=True, timeout=30, env=env)
    return p, out


def test_preserve_fds(olrun, bundle, tmp_path):
    bundle.sh("echo through-fd4 >&4; ls /proc/self/fd | sort -n | tr '\\n' ' '")
    p, out = with_fds(olrun, tmp_path, ["run", "--preserve-fds", "2", "-b", bundle.path, olrun.new_id()])
    assert p.returncode == 0, p.stderr
    assert p.stdout.split()[:5] == ["0", "1", "2", "3", "4"]
    assert out.read_text() == "through-fd4\n"
    # Without --preserve-fds, neither reaches the container.
    bundle.sh("ls /proc/self/fd | sort -n | tr '\\n' ' '")
    p, out = with_fds(olrun, tmp_path, ["run", "-b", bundle.path, olrun.new_id()])
    assert p.stdout.split()[:4] == ["0", "1", "2", "3"] and "4" not in p.stdout.split()


def test_listen_fds_passed_through(olrun, bundle, tmp_path):
    bundle.sh('echo "$LISTEN_FDS $LISTEN_PID"; ls /proc/self/fd | sort -n | tr "\\n" " "')
    env = dict(os.environ, LISTEN_FDS="2", LISTEN_PID="1")
    p, out = with_fds(olrun, tmp_path, ["run", "-b", bundle.path, olrun.new_id()], env=env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "2 1"
    assert lines[1].split()[:5] == ["0", "1", "2", "3", "4"]


def test_stdin_passed_through(olrun, bundle):
    bundle.args("cat")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id(), input="hello stdin\n")
    assert p.returncode == 0 and p.stdout == "hello stdin\n"


def test_session_keyring(olrun, bundle):
    bundle.args("testinit", "keyring")
    cid = olrun.new_id()
    p = olrun.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0 and p.stdout.strip() == cid, p.stdout + p.stderr
    # --no-new-keyring: the caller's session keyring is kept.
    host = subprocess.run([os.path.join(os.environ.get("OLRUN_HELPERS", ""), "olrun-testinit"), "keyring"],
                          capture_output=True, text=True).stdout.strip()
    p = olrun.run("run", "--no-new-keyring", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout.strip() == host


def attrs(olrun, bundle):
    bundle.args("testinit", "attrs")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    return {l.split()[0]: l.split()[1:] for l in p.stdout.splitlines()}


def test_defaults_leave_attrs_alone(olrun, bundle):
    a = attrs(olrun, bundle)
    assert a["sched"] == ["0", "0", "0"] and a["personality"] == ["0x0"] and a["mempolicy"][0] == "0"


def test_scheduler_batch_with_nice(olrun, bundle):
    bundle.process["scheduler"] = {"policy": "SCHED_BATCH", "nice": 7}
    assert attrs(olrun, bundle)["sched"] == ["3", "0", "7"]


def test_scheduler_realtime(olrun, bundle):
    bundle.process["scheduler"] = {"policy": "SCHED_FIFO", "priority": 10,
                                   "flags": ["SCHED_FLAG_RESET_ON_FORK"]}
    # SCHED_RESET_ON_FORK shows as a flag bit on the policy (0x40000000).
    assert attrs(olrun, bundle)["sched"] == [str(1 | 0x40000000), "10", "0"]


@pytest.mark.parametrize("sched,words", [
    ({"policy": "SCHED_ISO"}, "Linux has no scheduling policy `SCHED_ISO`"),
    ({"policy": "SCHED_BOGUS"}, "unknown scheduling policy `SCHED_BOGUS`"),
    ({"policy": "SCHED_FIFO"}, "need a priority from 1 to 99"),
    ({"policy": "SCHED_OTHER", "priority": 5}, "only valid with SCHED_FIFO or SCHED_RR"),
    ({"policy": "SCHED_OTHER", "runtime": 5}, "only valid with SCHED_DEADLINE"),
    ({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_NOPE"]}, "unknown flag `SCHED_FLAG_NOPE`"),
    ({"policy": "SCHED_OTHER", "nice": 20}, "process.scheduler.nice"),
])
def test_scheduler_refused(olrun, bundle, sched, words):
    bundle.process["scheduler"] = sched
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and words in p.stderr, p.stderr


def test_io_priority(olrun, bundle):
    bundle.process["ioPriority"] = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}
    assert attrs(olrun, bundle)["ioprio"][0] == "3"
    bundle.process["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
    assert attrs(olrun, bundle)["ioprio"] == ["2", "6"]


def test_io_priority_refused(olrun, bundle):
    bundle.process["ioPriority"] = {"class": "IOPRIO_CLASS_WHAT", "priority": 1}
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "unknown I/O priority class `IOPRIO_CLASS_WHAT`" in p.stderr


def test_personality_linux32(olrun, bundle):
    bundle.linux["personality"] = {"domain": "LINUX32"}
    assert attrs(olrun, bundle)["personality"] == ["0x8"]
    bundle.sh("uname -m")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout.strip() in ("i686", "i386"), p.stdout


def test_personality_refused(olrun, bundle):
    bundle.linux["personality"] = {"domain": "LINUX64"}
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "unknown personality domain `LINUX64`" in p.stderr
    bundle.linux["personality"] = {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}
    bundle.write()
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "unknown personality flag" in p.stderr


def test_memory_policy(olrun, bundle):
    # Node 0 exists on every host.
    bundle.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}
    assert attrs(olrun, bundle)["mempolicy"] == ["2", "0x1"]
    bundle.linux["memoryPolicy"] = {"mode": "MPOL_INTERLEAVE", "nodes": "0",
                                    "flags": ["MPOL_F_STATIC_NODES"]}
    assert attrs(olrun, bundle)["mempolicy"] == [str(3 | (1 << 15)), "0x1"]


def test_memory_policy_missing_node_refused(olrun, bundle):
    nodes = os.listdir("/sys/devices/system/node")
    if "node1000" in nodes:
        pytest.skip("this host has a node 1000")
    bundle.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "1000"}
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "linux.memoryPolicy: the kernel refuses it" in p.stderr, p.stderr


@pytest.mark.parametrize("mp,words", [
    ({"mode": "MPOL_NOPE"}, "unknown memory policy mode `MPOL_NOPE`"),
    ({"mode": "MPOL_BIND"}, "MPOL_BIND needs nodes"),
    ({"mode": "MPOL_DEFAULT", "nodes": "0"}, "takes neither nodes nor flags"),
    ({"mode": "MPOL_BIND", "nodes": "0-x"}, "invalid node list `0-x`"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]},
     "exclude each other"),
])
def test_memory_policy_refused(olrun, bundle, mp, words):
    bundle.linux["memoryPolicy"] = mp
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and words in p.stderr, p.stderr


@pytest.mark.parametrize("key,lsm", [("apparmorProfile", "AppArmor"), ("selinuxLabel", "SELinux")])
def test_lsm_label_refused_without_the_lsm(olrun, bundle, key, lsm):
    if lsm == "AppArmor" and os.path.exists("/sys/module/apparmor/parameters/enabled"):
        with open("/sys/module/apparmor/parameters/enabled") as f:
            if f.read().startswith("Y"):
                pytest.skip("AppArmor is enabled here")
    if lsm == "SELinux" and os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("SELinux is enabled here")
    bundle.process[key] = "olrun-test-profile"
    bundle.args("true")
    cid = olrun.new_id()
    p = olrun.run("run", "-b", bundle.path, cid)
    assert p.returncode == 1
    assert "%s `olrun-test-profile`: %s is not enabled on this host" % (key, lsm) in p.stderr, p.stderr
    # Refused before anything was created.
    assert not os.path.exists(os.path.join(olrun.root, cid))
