"""The launcher's user namespaces, as the seed has them, run as unprivileged
users made for the test: one with /etc/subuid and /etc/subgid ranges
(newuidmap/newgidmap), one without (a single-id map).  Without --fakeroot
the process runs as the user's own uid; with it, as uid 0.  Checked from
inside: `id`, /proc/self/uid_map and the owner of a bound file."""
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import pytest

from launcher_lib import OLRUN, leftovers, write_image

pytestmark = pytest.mark.skipif(shutil.which("newuidmap") is None or shutil.which("useradd") is None,
                                reason="needs uidmap and useradd")


def _make_user(subids):
    name = "olrun-lt-" + uuid.uuid4().hex[:8]
    subprocess.run(["useradd", "-M", "-s", "/bin/sh", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name],
                   check=True, capture_output=True)
    if subids:
        # a range of its own, far from the ones useradd hands out
        base = 1000000 + (int(uuid.uuid4().hex[:6], 16) % 4000) * 65536
        subprocess.run(["usermod", "--add-subuids", "%d-%d" % (base, base + 65535),
                        "--add-subgids", "%d-%d" % (base, base + 65535), name], check=True, capture_output=True)
    return pwd.getpwnam(name)


@pytest.fixture(scope="module")
def users():
    made = {"subids": _make_user(True), "single": _make_user(False)}
    yield made
    for u in made.values():
        subprocess.run(["userdel", u.pw_name], capture_output=True)


@pytest.fixture(scope="module")
def world():
    """A layout and a directory the test users can read and write in.  Not
    under pytest's basetemp: pytest keeps that 0700, also while another
    worker runs."""
    d = tempfile.mkdtemp(prefix="olrun-rootless-", dir="/tmp")
    os.chmod(d, 0o1777)
    write_image(os.path.join(d, "layout"), cmd=["id"])
    subprocess.run(["chmod", "-R", "a+rX", os.path.join(d, "layout")], check=True)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class User:
    def __init__(self, pw, world):
        self.pw = pw
        self.home = os.path.join(world, pw.pw_name)
        os.makedirs(self.home, exist_ok=True)
        os.chown(self.home, pw.pw_uid, pw.pw_gid)
        self.root = os.path.join(self.home, "state")
        self.cache = os.path.join(self.home, "cache")
        self.ref = "oci:" + os.path.join(world, "layout")

    def olrun(self, *args, timeout=60):
        env = {"PATH": os.environ["PATH"], "HOME": self.home}
        return subprocess.run([OLRUN, "--root", self.root] + [str(a) for a in args], capture_output=True,
                              text=True, timeout=timeout, user=self.pw.pw_uid, group=self.pw.pw_gid,
                              extra_groups=[], env=env, cwd=self.home)

    def run(self, *opts):
        return self.olrun("run", "-q", "--cache", self.cache, *opts)

    def file(self, name, data="mine\n"):
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write(data)
        os.chown(path, self.pw.pw_uid, self.pw.pw_gid)
        return path


@pytest.fixture(params=["subids", "single"])
def user(request, users, world):
    u = User(users[request.param], world)
    u.kind = request.param
    yield u
    assert leftovers(u.root) == []


PROBE = "id -u; id -g; cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //'; stat -c %u:%g /mnt/mine /mnt/roots"


def test_without_fakeroot_the_process_is_the_user(user):
    uid, gid = user.pw.pw_uid, user.pw.pw_gid
    p = user.run("-B", "%s:/mnt/mine" % user.file("mine"), "-B", "/etc/hostname:/mnt/roots", user.ref,
                 "sh", "-c", PROBE)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:2] == [str(uid), str(gid)]
    if user.kind == "subids":
        # Singularity's layout: the user's id is the outer 0, the
        # subordinate ids fill the rest, so 0 and nobody still exist.
        assert lines[2:5] == ["0 1 %d" % uid, "%d 0 1" % uid, "%d %d %d" % (uid + 1, uid + 1, 65536 - uid)]
        rest = lines[5:]
    else:
        assert lines[2] == "%d 0 1" % uid
        rest = lines[3:]
    # the user's file is theirs inside; root's is nobody's (unmapped)
    assert rest == ["%d:%d" % (uid, gid), "65534:65534"]


def test_fakeroot_is_uid_0_with_a_namespace_roots_capabilities(user):
    p = user.run("--fakeroot", "-B", "%s:/mnt/mine" % user.file("mine"), "-B", "/etc/hostname:/mnt/roots",
                 user.ref, "sh", "-c", PROBE + "; grep CapEff /proc/self/status")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[:2] == ["0", "0"]
    maps = ["0 0 1", "1 1 65536"] if user.kind == "subids" else ["0 0 1"]
    assert lines[2:2 + len(maps)] == maps
    assert lines[2 + len(maps):4 + len(maps)] == ["0:0", "65534:65534"]
    assert lines[-1].split()[1] != "0000000000000000"


def test_unpack_and_cache_are_the_users(user):
    p = user.run(user.ref, "true")
    assert p.returncode == 0, p.stderr
    st = os.stat(user.cache)
    assert (st.st_uid, st.st_gid) == (user.pw.pw_uid, user.pw.pw_gid)
    images = os.path.join(user.cache, "images", "sha256")
    (digest,) = os.listdir(images)
    assert os.stat(os.path.join(images, digest, "rootfs", "bin", "busybox")).st_uid == user.pw.pw_uid


def test_rootless_detached_instance(user):
    p = user.run("-d", user.ref, "sh", "-c", "echo hello-$(id -u); sleep 60")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    assert user.olrun("stop", "-t", "0", cid).returncode == 0
    logs = user.olrun("logs", cid)
    assert logs.stdout == "hello-%d\n" % user.pw.pw_uid
    assert user.olrun("delete", cid).returncode == 0


def test_root_with_userns(world, tmp_path):
    p = subprocess.run([OLRUN, "--root", str(tmp_path / "state"), "run", "-q", "--cache", str(tmp_path / "cache"),
                        "--userns", "oci:" + os.path.join(world, "layout"), "sh", "-c",
                        "id -u; cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //'"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["0", "0 0 1"]
    assert leftovers(str(tmp_path / "state")) == []
