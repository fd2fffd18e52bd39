"""linux.seccomp in real containers: checked from inside the container
(/proc/self/status, the errno a blocked syscall returns), from the host (the
BPF cache), and by a notify agent listening on listenerPath."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from podman_lib import needs_podman, run_podman

sys.path.insert(0, os.path.dirname(__file__))
import seccomp_profiles  # noqa: E402
from conftest import HELPERS  # noqa: E402

AGENT = os.path.join(HELPERS, "seccomp_agent")
PROBE = os.path.join(HELPERS, "seccomp_probe")

# x86_64 syscall numbers.
NR_MKDIR, NR_MKDIRAT, NR_GETPPID, NR_FUTEX_WAITV = 83, 258, 110, 449
ENOSYS, EINVAL, EPERM, ENOMEDIUM = 38, 22, 1, 123

needs_helpers = pytest.mark.skipif(not (os.path.exists(AGENT) and os.path.exists(PROBE)),
                                   reason="seccomp test helpers not built")


def allow_with(*rules, **top):
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules)}
    profile.update(top)
    return profile


def with_probe(own_bundle):
    shutil.copy2(PROBE, os.path.join(own_bundle.rootfs, "bin/seccomp_probe"))
    return own_bundle


def test_filter_in_force(olrun, bundle):
    bundle.linux["seccomp"] = allow_with({"names": ["getppid"], "action": "SCMP_ACT_ERRNO"})
    bundle.sh("grep ^Seccomp /proc/self/status")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert "Seccomp:\t2\n" in p.stdout
    assert "Seccomp_filters:\t1\n" in p.stdout


def test_no_profile_no_filter(olrun, bundle):
    bundle.sh("grep ^Seccomp: /proc/self/status")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout == "Seccomp:\t0\n"


def test_blocked_syscall_returns_errno(olrun, bundle):
    bundle.linux["seccomp"] = allow_with(
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOMEDIUM})
    bundle.sh("mkdir /tmp/d; echo rc=$?; test -d /tmp/d && echo exists || echo absent")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert "No medium found" in p.stderr
    assert p.stdout.split() == ["rc=1", "absent"]


def test_kill_process(olrun, bundle):
    bundle.linux["seccomp"] = allow_with({"names": ["sethostname"], "action": "SCMP_ACT_KILL_PROCESS"})
    bundle.sh("echo before; hostname changed; echo status=$?; hostname")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    # hostname died of SIGSYS (128 + 31) before it could change anything.
    assert p.stdout.split() == ["before", "status=159", "olrun-test"]


@needs_helpers
def test_args_and_default_errno(olrun, own_bundle):
    b = with_probe(own_bundle)
    b.linux["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": ENOSYS,
        "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
             "args": [{"index": 0, "value": 0xf0, "valueTwo": 0x20, "op": "SCMP_CMP_MASKED_EQ"}]},
            # what the static probe needs (an unconditional getppid rule
            # would override the conditional one above)
            {"names": ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
                       "prlimit64", "mprotect", "readlink", "getrandom", "write", "exit_group",
                       "uname", "mmap", "munmap", "newfstatat", "fstat", "ioctl",
                       "openat", "close", "read", "rt_sigaction", "rt_sigprocmask", "getpid"],
             "action": "SCMP_ACT_ALLOW"},
        ],
    }
    b.config["process"]["args"] = ["/bin/seccomp_probe", str(NR_GETPPID), "0x25"]
    p = olrun.run("run", "-b", b.write().path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["99"]
    # (0x35 & 0xf0) != 0x20: the rule does not apply, the default does.
    b.config["process"]["args"] = ["/bin/seccomp_probe", str(NR_GETPPID), "0x35"]
    p = olrun.run("run", "-b", b.write().path, olrun.new_id())
    assert p.stdout.split() == [str(ENOSYS)]
    b.config["process"]["args"] = ["/bin/seccomp_probe", str(NR_MKDIR), "0", "0"]
    p = olrun.run("run", "-b", b.write().path, olrun.new_id())
    assert p.stdout.split() == [str(ENOSYS)]


@pytest.fixture(scope="module")
def podman_seccomp():
    if not os.path.exists(seccomp_profiles.PODMAN_PROFILE):
        pytest.skip("podman's seccomp.json is not installed")
    return seccomp_profiles.podman_profile()


@needs_helpers
def test_podman_profile(olrun, own_bundle, podman_seccomp):
    b = with_probe(own_bundle)
    # CAP_SYS_ADMIN in the container: what then refuses sethostname is the
    # profile (converted for podman's default capabilities, without it).
    caps = b.process["capabilities"]
    for k in caps:
        caps[k] = caps[k] + ["CAP_SYS_ADMIN"]
    b.sh("grep ^Seccomp: /proc/self/status; seccomp_probe %d 0 0 0 0 0; hostname changed; "
         "echo rc=$?; mkdir /tmp/d && ls -d /tmp/d && ls / | wc -l" % NR_FUTEX_WAITV)
    b.linux["seccomp"] = podman_seccomp
    b.write()
    p = olrun.run("run", "-b", b.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    out = p.stdout.split("\n")
    assert out[0] == "Seccomp:\t2"
    assert out[1] == str(ENOSYS)        # not in the profile: defaultErrnoRet
    assert out[2] == "rc=1" and "sethostname" in p.stderr
    assert out[3] == "/tmp/d"
    # The same container without the profile: the calls work.
    del b.linux["seccomp"]
    b.write()
    p = olrun.run("run", "-b", b.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:3] == ["Seccomp:\t0", str(EINVAL), "rc=0"]


def cache_entries(olrun):
    d = os.path.join(olrun.root, ".seccomp-cache")
    return {e: os.stat(os.path.join(d, e)) for e in os.listdir(d)} if os.path.isdir(d) else {}


def test_cache_reused_across_containers(olrun, bundle, podman_seccomp):
    bundle.linux["seccomp"] = podman_seccomp
    bundle.sh("grep ^Seccomp: /proc/self/status")
    assert olrun.run("run", "-b", bundle.path, olrun.new_id()).returncode == 0
    first = cache_entries(olrun)
    assert len(first) == 1
    (name, st), = first.items()
    assert st.st_uid == 0 and st.st_mode & 0o077 == 0
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout == "Seccomp:\t2\n"
    # A hit reads the entry; a miss would have replaced it (a new inode).
    second = cache_entries(olrun)
    assert second.keys() == first.keys() and second[name].st_ino == st.st_ino
    # A corrupt entry is ignored, the filter compiled and the entry replaced.
    path = os.path.join(olrun.root, ".seccomp-cache", name)
    data = bytearray(open(path, "rb").read())
    data[-3] ^= 0xFF
    with open(path, "wb") as f:
        f.write(data)
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout == "Seccomp:\t2\n"
    assert cache_entries(olrun)[name].st_ino != st.st_ino


def test_without_no_new_privs(olrun, bundle):
    """No no_new_privs and capabilities without CAP_SYS_ADMIN: the filter
    must be loaded before the capabilities go (the kernel refuses it after),
    and still be in force in the process."""
    bundle.process["noNewPrivileges"] = False
    bundle.linux["seccomp"] = allow_with(
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOMEDIUM})
    bundle.sh("grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; mkdir /tmp/d")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert "Seccomp:\t2" in p.stdout, p.stderr
    assert "NoNewPrivs:\t0" in p.stdout
    # CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE: no CAP_SYS_ADMIN (bit 21)
    assert "CapEff:\t0000000020000420" in p.stdout
    assert "No medium found" in p.stderr


def test_config_errors(olrun, bundle):
    bundle.linux["seccomp"] = allow_with({"names": ["read"], "action": "SCMP_ACT_NOPE"})
    bundle.write()
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1
    text = open(os.path.join(bundle.path, "config.json")).read()
    at = text.index('"SCMP_ACT_NOPE"')
    assert ("linux.seccomp.syscalls[0].action: unknown seccomp action `SCMP_ACT_NOPE` (byte %d)" % at) in p.stderr
    bundle.linux["seccomp"] = allow_with({"names": ["write"], "action": "SCMP_ACT_NOTIFY"}, listenerPath="/x")
    bundle.write()
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1
    assert "SCMP_ACT_NOTIFY cannot be used for the write syscall" in p.stderr


# ---- SCMP_ACT_NOTIFY ---------------------------------------------------------

def start_agent(tmp_path, mode):
    sock, out = tmp_path / "agent.sock", tmp_path / "agent-state.json"
    agent = subprocess.Popen([AGENT, str(sock), str(out), mode], stdout=subprocess.PIPE, text=True)
    assert agent.stdout.readline().strip() == "ready"
    return agent, sock, out


@needs_helpers
def test_notify_agent_answers(olrun, bundle, tmp_path):
    agent, sock, out = start_agent(tmp_path, "errno:%d" % ENOMEDIUM)
    try:
        bundle.linux["seccomp"] = allow_with({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"},
                                             listenerPath=str(sock), listenerMetadata="from-test")
        bundle.sh("mkdir /tmp/d; echo rc=$?; test -d /tmp/d && echo exists || echo absent")
        cid = olrun.new_id()
        p = olrun.run("run", "-b", bundle.path, cid)
        assert agent.wait(timeout=30) == 0
    finally:
        agent.kill()
    assert p.returncode == 0, p.stderr
    assert "No medium found" in p.stderr
    assert p.stdout.split() == ["rc=1", "absent"]
    state = json.loads(out.read_text())
    assert state["fds"] == ["seccompFd"]
    assert state["metadata"] == "from-test"
    assert state["state"]["id"] == cid
    assert state["pid"] > 0 and state["state"]["pid"] == state["pid"]
    calls = open(str(out) + ".calls").read().split()
    assert int(calls[0]) in (NR_MKDIR, NR_MKDIRAT)


@needs_helpers
def test_notify_agent_lets_it_run(olrun, bundle, tmp_path):
    agent, sock, out = start_agent(tmp_path, "continue")
    try:
        bundle.linux["seccomp"] = allow_with({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"},
                                             listenerPath=str(sock))
        bundle.sh("mkdir /tmp/d && test -d /tmp/d && echo made")
        p = olrun.run("run", "-b", bundle.path, olrun.new_id())
        assert agent.wait(timeout=30) == 0
    finally:
        agent.kill()
    assert p.returncode == 0, p.stderr
    assert p.stdout == "made\n"


def test_notify_without_agent_is_an_error(olrun, bundle, tmp_path):
    bundle.linux["seccomp"] = allow_with({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
                                         listenerPath=str(tmp_path / "nobody.sock"))
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1
    assert "nobody.sock" in p.stderr


# ---- podman as the client ------------------------------------------------------

PODMAN_BODY = r"""
$RUN --rm $IMG /bin/sh -c "grep ^Seccomp: /proc/self/status; seccomp_probe $NR 0 0 0 0 0" || exit 10
$RUN --rm --security-opt seccomp=unconfined $IMG /bin/sh -c "grep ^Seccomp: /proc/self/status; seccomp_probe $NR 0 0 0 0 0" || exit 11
"""


@needs_helpers
@needs_podman
def test_podman_runs_olrun_with_its_default_profile(tmp_path, podman_seccomp):
    """podman generates the config (its default seccomp profile included)
    and runs olrun as its --runtime; the profile must be in force."""
    os.environ["NR"] = str(NR_FUTEX_WAITV)
    try:
        p = run_podman(tmp_path, PODMAN_BODY, extra_files=[(PROBE, "bin/seccomp_probe")])
    finally:
        del os.environ["NR"]
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:4] == ["Seccomp:\t2", str(ENOSYS), "Seccomp:\t0", str(EINVAL)]
