"""The seccomp/ library on its own, through seccomp_try (tests/seccomp/),
which prepares a profile, loads it in a child with no_new_privs and execs a
command, as olrun's runtime does right before execve.  Each test checks an
effect seen by the filtered process or by its notify agent."""

import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import seccomp_profiles  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
HELPERS = pathlib.Path(os.environ.get("OLRUN_HELPERS", ROOT / "build/tests/helpers"))
TRY = HELPERS.parent / "seccomp_try"
AGENT = HELPERS / "seccomp_agent"
PY = "/usr/bin/python3"

# x86_64 numbers: what the agent logs, and a syscall podman's profile omits.
NR_MKDIR, NR_MKDIRAT, NR_FUTEX_WAITV = 83, 258, 449
ENOSYS, EINVAL, EPERM, ENOMEDIUM = 38, 22, 1, 123

pytestmark = pytest.mark.skipif(
    not TRY.exists() or not AGENT.exists(), reason="seccomp_try / seccomp_agent not built"
)


def write_profile(path, profile):
    path.write_text(json.dumps(profile))
    return str(path)


def run_try(profile_path, *cmd, cache=None, extra=(), **kw):
    args = [str(TRY), "--info"]
    if cache:
        args += ["--cache", str(cache)]
    args += list(extra) + [profile_path, "--"] + list(cmd)
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kw)


def syscall_errno(nr, *args):
    """A python one-liner making a raw syscall and printing its errno."""
    a = ",".join(str(x) for x in args)
    return [PY, "-c", f"import ctypes;l=ctypes.CDLL(None,use_errno=True);"
                      f"r=l.syscall({nr}{',' if a else ''}{a});print(ctypes.get_errno() if r<0 else 0)"]


@pytest.fixture(scope="module")
def podman_profile(tmp_path_factory):
    if not os.path.exists(seccomp_profiles.PODMAN_PROFILE):
        pytest.skip("podman's seccomp.json is not installed")
    p = tmp_path_factory.mktemp("podman") / "seccomp.json"
    return write_profile(p, seccomp_profiles.podman_profile())


def test_podman_profile_is_in_force(podman_profile):
    r = run_try(podman_profile, "grep", "^Seccomp", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    assert "Seccomp:\t2" in r.stdout
    assert "Seccomp_filters:\t1" in r.stdout
    assert "cached=0" in r.stderr


def test_podman_profile_errnos(podman_profile):
    # A syscall the profile does not list gets defaultErrnoRet (ENOSYS);
    # unfiltered, the same call fails with EINVAL.
    r = run_try(podman_profile, *syscall_errno(NR_FUTEX_WAITV, 0, 0, 0, 0, 0))
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == ENOSYS
    plain = subprocess.run(syscall_errno(NR_FUTEX_WAITV, 0, 0, 0, 0, 0), capture_output=True, text=True)
    assert int(plain.stdout) == EINVAL
    # sethostname needs CAP_SYS_ADMIN, which podman's default set lacks: the
    # profile returns EPERM even to root (in a private UTS namespace, so the
    # host's name is safe either way).
    cmd = ["unshare", "-u", PY, "-c",
           "import socket\ntry:\n socket.sethostname('olrun-test'); print(0)\n"
           "except OSError as e:\n print(e.errno)"]
    r = run_try(podman_profile, *cmd)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == EPERM
    assert int(subprocess.run(cmd, capture_output=True, text=True).stdout) == 0


def test_podman_profile_everyday_commands(podman_profile, tmp_path):
    script = f"cd {tmp_path} && mkdir d && echo hi > d/f && cat d/f && ls d && rm -r d && id -u"
    r = run_try(podman_profile, "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["hi", "f", "0"]


def test_cache_hit_and_entry(podman_profile, tmp_path):
    cache = tmp_path / "cache"
    first = run_try(podman_profile, "true", cache=cache)
    assert first.returncode == 0, first.stderr
    assert "cached=0" in first.stderr
    second = run_try(podman_profile, "grep", "^Seccomp:", "/proc/self/status", cache=cache)
    assert second.returncode == 0, second.stderr
    assert "cached=1" in second.stderr
    assert "Seccomp:\t2" in second.stdout
    # The same program either way.
    n1 = first.stderr.split("instructions=")[1].split()[0]
    n2 = second.stderr.split("instructions=")[1].split()[0]
    assert n1 == n2 and int(n1) > 100
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    entries = list(cache.iterdir())
    assert len(entries) == 1
    st = entries[0].stat()
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    # The cached program still filters: the errno is the profile's.
    r = run_try(podman_profile, *syscall_errno(NR_FUTEX_WAITV, 0, 0, 0, 0, 0), cache=cache)
    assert "cached=1" in r.stderr and int(r.stdout) == ENOSYS


def test_cache_corrupt_entry_is_rebuilt(podman_profile, tmp_path):
    cache = tmp_path / "cache"
    assert run_try(podman_profile, "true", cache=cache).returncode == 0
    entry = next(cache.iterdir())
    data = bytearray(entry.read_bytes())
    data[-5] ^= 0xFF  # inside the last BPF instruction
    entry.write_bytes(bytes(data))
    r = run_try(podman_profile, *syscall_errno(NR_FUTEX_WAITV, 0, 0, 0, 0, 0), cache=cache)
    assert "cached=0" in r.stderr and int(r.stdout) == ENOSYS
    assert "cached=1" in run_try(podman_profile, "true", cache=cache).stderr


def test_errno_kill_log(tmp_path):
    p = write_profile(tmp_path / "p.json", {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOMEDIUM},
            {"names": ["rmdir"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["getcwd"], "action": "SCMP_ACT_LOG"},
        ],
    })
    r = run_try(p, "mkdir", str(tmp_path / "d"))
    assert r.returncode == 1 and "No medium found" in r.stderr
    assert not (tmp_path / "d").exists()
    (tmp_path / "e").mkdir()
    r = run_try(p, "rmdir", str(tmp_path / "e"))
    assert r.returncode == 128 + 31  # SIGSYS
    assert (tmp_path / "e").exists()
    r = run_try(p, PY, "-c", "import os; print(os.getcwd())", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == str(tmp_path)


def test_config_errors_name_the_place(tmp_path):
    text = ('{"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{"seccomp":'
            '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOPE"}]}}}')
    cfg = tmp_path / "config.json"
    cfg.write_text(text)
    r = run_try(str(cfg), "true")
    assert r.returncode == 125
    where = text.index('"SCMP_ACT_NOPE"')
    assert (f"config.json: linux.seccomp.syscalls[0].action: unknown seccomp action `SCMP_ACT_NOPE` "
            f"(byte {where})") in r.stderr


def test_needs_no_new_privs_without_cap_sys_admin(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    # pytest's tmp_path sits in a 0700 directory: the user could not read it.
    shared = pathlib.Path(tempfile.mkdtemp(prefix="olrun-seccomp-"))
    try:
        os.chmod(shared, 0o755)
        p = write_profile(shared / "p.json", {"defaultAction": "SCMP_ACT_ALLOW"})
        os.chmod(p, 0o644)
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        r = subprocess.run(drop + [str(TRY), "--no-nnp", p, "--", "true"], capture_output=True, text=True)
        assert r.returncode == 125
        assert "needs no_new_privs or CAP_SYS_ADMIN" in r.stderr
        r = subprocess.run(drop + [str(TRY), p, "--", "grep", "^NoNewPrivs", "/proc/self/status"],
                           capture_output=True, text=True)
        assert r.returncode == 0 and "NoNewPrivs:\t1" in r.stdout
    finally:
        shutil.rmtree(shared)


# ---- SCMP_ACT_NOTIFY with an agent at listenerPath ----------------------------

def start_agent(tmp_path, mode):
    sock = tmp_path / "agent.sock"
    out = tmp_path / "state.json"
    agent = subprocess.Popen([str(AGENT), str(sock), str(out), mode], stdout=subprocess.PIPE, text=True)
    assert agent.stdout.readline().strip() == "ready"
    return agent, sock, out


def notify_profile(tmp_path, sock):
    return write_profile(tmp_path / "p.json", {
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": str(sock),
        "listenerMetadata": "olrun-test",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
    })


def test_notify_agent_errno(tmp_path):
    agent, sock, out = start_agent(tmp_path, f"errno:{ENOMEDIUM}")
    p = notify_profile(tmp_path, sock)
    r = run_try(p, "mkdir", str(tmp_path / "d"))
    assert agent.wait(timeout=30) == 0
    assert r.returncode == 1 and "No medium found" in r.stderr
    assert "notify=1" in r.stderr
    assert not (tmp_path / "d").exists()
    state = json.loads(out.read_text())
    assert state["fds"] == ["seccompFd"]
    assert state["metadata"] == "olrun-test"
    assert state["ociVersion"].startswith("1.")
    assert state["state"]["pid"] == state["pid"] and state["pid"] > 0
    calls = [line.split() for line in pathlib.Path(str(out) + ".calls").read_text().splitlines()]
    assert len(calls) == 1
    assert int(calls[0][0]) in (NR_MKDIR, NR_MKDIRAT)


def test_notify_agent_fakes_success(tmp_path):
    agent, sock, out = start_agent(tmp_path, "value:0")
    r = run_try(notify_profile(tmp_path, sock), "mkdir", str(tmp_path / "d"))
    assert agent.wait(timeout=30) == 0
    # mkdir "worked", but the agent never ran it.
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "d").exists()


def test_notify_agent_continue(tmp_path):
    agent, sock, out = start_agent(tmp_path, "continue")
    r = run_try(notify_profile(tmp_path, sock), "sh", "-c", f"mkdir {tmp_path}/a && mkdir {tmp_path}/b")
    assert agent.wait(timeout=30) == 0
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a").is_dir() and (tmp_path / "b").is_dir()
    assert len(pathlib.Path(str(out) + ".calls").read_text().splitlines()) == 2


def test_notify_without_agent_fails_cleanly(tmp_path):
    p = notify_profile(tmp_path, tmp_path / "nobody.sock")
    r = run_try(p, "mkdir", str(tmp_path / "d"))
    assert r.returncode == 125
    assert "nobody.sock" in r.stderr and "No such file" in r.stderr
    assert not (tmp_path / "d").exists()
