"""Rootless mode: olrun run by an unprivileged user created for the test,
on a busybox bundle it can read (issue 4)."""
import json
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from conftest import CGROUP2, make_rootfs

USER = "olrun-rootless"


@pytest.fixture(scope="session")
def user():
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        if shutil.which("useradd") is None:
            pytest.skip("useradd is not installed")
        subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", USER], check=True)
        pw = pwd.getpwnam(USER)
    # newuidmap reads these; useradd adds them on Debian, but not everywhere.
    for f in ("/etc/subuid", "/etc/subgid"):
        with open(f, "a+") as fh:
            fh.seek(0)
            if not any(l.startswith(USER + ":") for l in fh):
                fh.write("%s:300000:65536\n" % USER)
    with open("/etc/subuid") as fh:
        start = int([l for l in fh if l.startswith(USER + ":")][0].split(":")[1])
    return pw.pw_uid, pw.pw_gid, start


@pytest.fixture
def rl(tmp_path, user):
    """A world-readable bundle and a private XDG_RUNTIME_DIR for the user."""
    uid, gid, sub = user
    os.chmod(tmp_path, 0o755)
    bundle = tmp_path / "bundle"
    make_rootfs(str(bundle / "rootfs"))
    xdg = tmp_path / "xdg"
    xdg.mkdir()
    os.chown(xdg, uid, gid)
    for d, _, files in os.walk(tmp_path):
        os.chmod(d, 0o755)
    p = tmp_path
    while str(p) != "/":
        os.chmod(p, os.stat(p).st_mode | 0o005)
        p = p.parent
    return {"bundle": bundle, "xdg": xdg, "uid": uid, "gid": gid, "sub": sub}


def config(rl, args, maps=None):
    uid = rl["uid"]
    maps = maps or [{"containerID": 0, "hostID": uid, "size": 1}]
    out = subprocess.run([os.environ.get("OLRUN", "olrun"), "spec", "--rootless", "-b", str(rl["bundle"])],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    path = rl["bundle"] / "config.json"
    c = json.loads(path.read_text())
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    c["linux"]["uidMappings"] = maps
    c["linux"]["gidMappings"] = [dict(m, hostID=rl["gid"] if m["hostID"] == uid else m["hostID"]) for m in maps]
    path.write_text(json.dumps(c))
    os.chmod(path, 0o644)
    return c


def as_user(rl, *args):
    """Output through files: a created container keeps olrun's stdio."""
    env = {"PATH": os.environ["PATH"], "XDG_RUNTIME_DIR": str(rl["xdg"])}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        rc = subprocess.run(["setpriv", "--reuid", str(rl["uid"]), "--regid", str(rl["gid"]), "--clear-groups",
                             "--", os.environ.get("OLRUN", "olrun")] + list(args),
                            stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, timeout=60,
                            cwd=str(rl["bundle"])).returncode
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(args, rc, out.read(), err.read())


def test_rootless_own_uid_mapped_to_root(rl):
    config(rl, ["sh", "-c", "id -u; cat /proc/self/uid_map; cat /proc/self/setgroups; stat -c '%t:%T %u' /dev/null"])
    p = as_user(rl, "run", "rl-1")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(rl["uid"]), "1"]
    # Written directly: the kernel wants setgroups denied first.
    assert lines[2] == "deny"
    # mknod is not allowed: the host's node, bind-mounted (owner unmapped).
    assert lines[3] == "1:3 65534"


def test_rootless_subordinate_ids_through_newuidmap(rl):
    if shutil.which("newuidmap") is None:
        pytest.skip("newuidmap (package uidmap) is not installed")
    maps = [{"containerID": 0, "hostID": rl["uid"], "size": 1},
            {"containerID": 1, "hostID": rl["sub"], "size": 65536}]
    config(rl, ["sh", "-c", "cat /proc/self/uid_map | wc -l; cat /proc/self/gid_map | wc -l; cat /proc/self/setgroups"], maps)
    p = as_user(rl, "run", "rl-2")
    assert p.returncode == 0, p.stderr
    # newgidmap leaves setgroups allowed (it checked /etc/subgid).
    assert p.stdout.split() == ["2", "2", "allow"]


def test_rootless_state_under_xdg_runtime_dir_and_no_cgroup(rl):
    config(rl, ["sleep", "30"])
    p = as_user(rl, "create", "rl-3")
    try:
        assert p.returncode == 0, p.stderr
        assert os.path.isfile(rl["xdg"] / "olrun" / "rl-3" / "state.json")
        # Nothing is delegated to this user: no cgroup was made for it.
        assert not os.path.exists(os.path.join(CGROUP2, "olrun", "rl-3"))
        state = json.loads(as_user(rl, "state", "rl-3").stdout)
        assert state["status"] == "created"
    finally:
        as_user(rl, "delete", "--force", "rl-3")
    assert not os.path.exists(rl["xdg"] / "olrun" / "rl-3")


def test_cve_2023_25809_rootless_cgroup_mount_read_only(rl):
    # Even asked for rw, /sys/fs/cgroup is read-only for a rootless
    # container: it must not write the cgroup it was started from.
    c = config(rl, ["sh", "-c", "mkdir /sys/fs/cgroup/escape; grep ' /sys/fs/cgroup ' /proc/self/mountinfo"])
    c["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                        "options": ["nosuid", "noexec", "nodev", "rw"]})
    (rl["bundle"] / "config.json").write_text(json.dumps(c))
    p = as_user(rl, "run", "rl-4")
    assert "Read-only file system" in p.stderr, p.stdout + p.stderr
    # The cgroup mount on top (the rbind of /sys brought the host's below).
    assert p.stdout.splitlines()[-1].split()[5].startswith("ro"), p.stdout


def test_rootless_needs_a_user_namespace(rl):
    c = config(rl, ["true"])
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "user"]
    c["linux"].pop("uidMappings")
    c["linux"].pop("gidMappings")
    (rl["bundle"] / "config.json").write_text(json.dumps(c))
    p = as_user(rl, "run", "rl-5")
    assert p.returncode == 1 and "rootless mode needs a user namespace" in p.stderr, p.stderr


def test_rootless_idmapped_mount_refused(rl):
    # Only root of the initial user namespace may idmap the host's
    # filesystems: refused before anything is created, naming why.
    c = config(rl, ["true"])
    c["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(rl["bundle"] / "rootfs" / "etc"),
                        "options": ["bind", "idmap"]})
    (rl["bundle"] / "config.json").write_text(json.dumps(c))
    p = as_user(rl, "run", "rl-6")
    assert p.returncode == 1 and "idmapped mounts need root" in p.stderr, p.stderr
    assert not os.path.exists(rl["xdg"] / "olrun" / "rl-6")
    # And `features` does not claim them to this user.
    f = as_user(rl, "features")
    assert json.loads(f.stdout)["linux"]["mountExtensions"] == {"idmap": {"enabled": False}}, f.stdout + f.stderr


def olrun_in_rootfs(rl):
    """Make the rootfs able to run the olrun binary itself (its loader
    and libraries), with a FIFO any user can open to keep it blocked; the
    binary's path on the host is returned."""
    from test_security import copy_loader_and_libs
    olrun_bin = os.path.abspath(os.environ.get("OLRUN", "olrun"))
    rootfs = str(rl["bundle"] / "rootfs")
    copy_loader_and_libs(rootfs, olrun_bin)
    os.mkfifo(os.path.join(rootfs, "fifo"))
    os.chmod(os.path.join(rootfs, "fifo"), 0o666)
    return olrun_bin


def test_cve_2019_5736_rootless_init_exe_is_readonly(rl):
    # Unprivileged, olrun cannot clone the binary's mount itself: the init
    # does it in its own namespaces.  Whatever the container reaches
    # through /proc/1/exe (here the init execs /proc/self/exe and stays
    # olrun, blocked on a FIFO) must still be on a read-only mount.
    from conftest import wait_for
    from test_security import exe_writable
    olrun_bin = olrun_in_rootfs(rl)
    config(rl, ["/proc/self/exe", "--log", "/fifo", "list"])
    p = as_user(rl, "create", "rl-exe")
    assert p.returncode == 0, p.stderr
    try:
        pid = json.loads(as_user(rl, "state", "rl-exe").stdout)["pid"]
        assert as_user(rl, "start", "rl-exe").returncode == 0

        def cmdline():
            with open("/proc/%d/cmdline" % pid) as f:
                return f.read().split("\0")[0]
        assert wait_for(lambda: cmdline() == "/proc/self/exe")
        assert os.stat("/proc/%d/exe" % pid).st_ino == os.stat(olrun_bin).st_ino
        assert exe_writable("/proc/%d/exe" % pid)[0], "the init's exe link is on a writable mount"
    finally:
        as_user(rl, "delete", "--force", "rl-exe")
