"""olrun pull / bundle create / images / cache prune with local transports:
oci:, oci-archive:, docker-archive:.  Images are built here (images_lib)."""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading

import pytest

import images_lib as L
from images_lib import olrun

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (ownership, devices, mounts)")


def rootfs_of(cache, digest):
    return os.path.join(cache, "images", "sha256", digest[7:], "rootfs")


def semantics_image(compression=("gzip", "zstd", None)):
    """Three layers exercising what the OCI layer spec asks of an unpacker."""
    base = L.busybox_layer()
    l1 = (L.Layer()
          .dir("data").file("data/keep", "keep").file("data/gone", "gone")
          .dir("opq").file("opq/old", "old").dir("opq/sub").file("opq/sub/deep", "deep")
          .file("becomes-dir", "file").dir("becomes-file").file("becomes-file/x", "x")
          .file("suid", "s", mode=0o4755).file("owned", "o", uid=1234, gid=5678)
          .file("xattr", "x", xattrs={"user.test": "hello",
                                      "security.capability": bytes.fromhex("0100000200040000000000000000000000000000")})
          .symlink("link", "data/keep").hardlink("hard", "data/keep")
          .chardev("null", 1, 3).fifo("fifo")
          .file("mtime", "m", mtime=1234567890))
    l2 = (L.Layer()
          .whiteout("data/gone")
          .opaque("opq").file("opq/new", "new")
          .whiteout("becomes-dir").dir("becomes-dir").file("becomes-dir/inside", "inside")
          .file("becomes-file", "now a file")
          .file("data/keep", "changed"))
    return L.Image([base, l1, l2], compression=list(compression), cmd=["/bin/sh", "-c", "echo hello"])


@pytest.fixture(scope="module")
def sem(tmp_path_factory):
    d = tmp_path_factory.mktemp("sem")
    img = semantics_image()
    L.write_oci(str(d / "layout"), {"v1": img})
    cache = str(d / "cache")
    out = olrun("pull", "--cache", cache, f"oci:{d}/layout:v1").stdout.strip()
    assert out == img.config_digest
    return img, cache, rootfs_of(cache, out), d


def test_layer_semantics(sem):
    img, cache, root, _ = sem
    r = lambda p: os.path.join(root, p)
    assert open(r("data/keep")).read() == "changed"
    assert not os.path.lexists(r("data/gone"))                   # whiteout
    assert sorted(os.listdir(r("opq"))) == ["new"]                # opaque dir keeps only this layer's
    assert os.path.isdir(r("becomes-dir")) and open(r("becomes-dir/inside")).read() == "inside"
    assert os.path.isfile(r("becomes-file")) and open(r("becomes-file")).read() == "now a file"
    st = os.lstat(r("suid"))
    assert stat.S_IMODE(st.st_mode) == 0o4755
    st = os.lstat(r("owned"))
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert os.readlink(r("link")) == "data/keep"
    # the hardlink was made in layer 1 to data/keep; layer 2 replaced data/keep with a new file
    assert open(r("hard")).read() == "keep"
    assert os.lstat(r("bin/sh")).st_ino == os.lstat(r("bin/busybox")).st_ino
    st = os.lstat(r("null"))
    assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert stat.S_ISFIFO(os.lstat(r("fifo")).st_mode)
    assert os.getxattr(r("xattr"), "user.test") == b"hello"
    assert os.getxattr(r("xattr"), "security.capability")[:4] == bytes.fromhex("01000002")
    assert os.lstat(r("mtime")).st_mtime == 1234567890
    assert not any(n.startswith(".wh.") for _, ds, fs in os.walk(root) for n in ds + fs)


def test_fast_path_loads_no_heavy_library(sem):
    img, cache, root, d = sem
    env = dict(os.environ, LD_DEBUG="libs")
    p = olrun("pull", "--cache", cache, f"oci:{d}/layout:v1", env=env)
    assert p.stdout.strip() == img.config_digest
    for lib in ("libarchive", "libcurl", "libcrypto", "libzstd", "libz.so"):
        assert lib not in p.stderr, f"{lib} loaded on the cached path"
    # and the slow path does load them (so the check above can fail)
    p = olrun("pull", "--cache", os.path.join(d, "cache2"), f"oci:{d}/layout:v1", env=env)
    assert "libarchive" in p.stderr


def test_umoci_raw_unpack_same_tree(sem, tmp_path):
    img, cache, root, d = sem
    if shutil.which("umoci") is None:
        pytest.skip("umoci not installed")
    # umoci 0.4 has no zstd: the same layers, all gzip.
    L.write_oci(str(tmp_path / "gz"), {"v1": semantics_image(("gzip",) * 3)})
    cache2 = str(tmp_path / "c")
    digest = olrun("pull", "--cache", cache2, f"oci:{tmp_path}/gz:v1").stdout.strip()
    ref = tmp_path / "umoci"
    p = subprocess.run(["umoci", "raw", "unpack", "--image", f"{tmp_path}/gz:v1", str(ref)], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    ours, theirs = L.tree(rootfs_of(cache2, digest)), L.tree(str(ref))
    assert ours == theirs


def test_bundle_runs_under_runc_and_crun(sem, tmp_path):
    img, cache, root, d = sem
    b = tmp_path / "bundle"
    olrun("bundle", "create", "--cache", cache, f"oci:{d}/layout:v1", str(b))
    try:
        cfg = json.load(open(b / "config.json"))
        assert cfg["process"]["args"] == ["/bin/sh", "-c", "echo hello"]
        assert cfg["root"] == {"path": "rootfs", "readonly": True}
        mnt = subprocess.run(["findmnt", "-n", "-o", "OPTIONS", str(b / "rootfs")], capture_output=True,
                             text=True).stdout
        assert "ro" in mnt.split(",") and "nodev" in mnt and "nosuid" in mnt
        with pytest.raises(OSError):
            open(b / "rootfs" / "newfile", "w")
        outs = []
        for rt in ("runc", "crun"):
            if shutil.which(rt) is None:
                continue
            # crun refuses hybrid cgroups: give it a private pure-v2 view.
            cmd = (f"mount -t cgroup2 none /sys/fs/cgroup && {rt} run -b {b} img-{rt}-{os.getpid()}"
                   if rt == "crun" else f"{rt} run -b {b} img-{rt}-{os.getpid()}")
            p = subprocess.run(["unshare", "-m", "sh", "-c", cmd], capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
            outs.append(p.stdout)
        assert outs and all(o == "hello\n" for o in outs)
    finally:
        olrun("bundle", "delete", str(b))
    assert not b.exists()
    assert os.path.isfile(os.path.join(root, "bin/busybox"))  # the pristine tree is untouched


def test_config_json_from_image(tmp_path):
    img = L.Image([L.busybox_layer()], entrypoint=["/bin/sh", "-c"], cmd=["id"], env=["PATH=/bin", "A=1"],
                  workdir="/tmp", user="alice:staff", labels={"org.example": "yes"})
    L.write_oci(str(tmp_path / "l"), {"t": img})
    b = tmp_path / "b"
    olrun("bundle", "create", "--cache", str(tmp_path / "c"), "--hostname", "box", f"oci:{tmp_path}/l:t", str(b))
    try:
        cfg = json.load(open(b / "config.json"))
        p = cfg["process"]
        assert p["args"] == ["/bin/sh", "-c", "id"]
        assert p["cwd"] == "/tmp" and p["user"] == {"uid": 1000, "gid": 50}
        assert "A=1" in p["env"] and "PATH=/bin" in p["env"]
        assert cfg["hostname"] == "box"
        assert cfg["annotations"]["org.example"] == "yes"
        assert "network" not in [n["type"] for n in cfg["linux"]["namespaces"]]
    finally:
        olrun("bundle", "delete", str(b))


def test_unknown_user_fails_clearly(tmp_path):
    img = L.Image([L.busybox_layer()], cmd=["id"], user="nosuchuser")
    L.write_oci(str(tmp_path / "l"), {"t": img})
    p = olrun("bundle", "create", "--cache", str(tmp_path / "c"), f"oci:{tmp_path}/l:t", str(tmp_path / "b"),
              check=False)
    assert p.returncode == 1 and "nosuchuser" in p.stderr and "does not exist" in p.stderr
    assert not (tmp_path / "b").exists()


def test_tags_digests_and_errors(tmp_path):
    a = L.Image([L.busybox_layer()], cmd=["a"])
    b = L.Image([L.busybox_layer(), L.Layer().file("b", "b")], cmd=["b"])
    digests = L.write_oci(str(tmp_path / "l"), {"a": a, "b": b})
    cache = str(tmp_path / "c")
    assert olrun("pull", "--cache", cache, f"oci:{tmp_path}/l:b").stdout.strip() == b.config_digest
    assert olrun("pull", "--cache", cache, f"oci:{tmp_path}/l@{digests['a']}").stdout.strip() == a.config_digest
    p = olrun("pull", "--cache", cache, f"oci:{tmp_path}/l", check=False)
    assert p.returncode == 1 and "no tag given" in p.stderr
    p = olrun("pull", "--cache", cache, f"oci:{tmp_path}/l:nope", check=False)
    assert p.returncode == 1 and "no image tagged `nope`" in p.stderr
    p = olrun("pull", "--cache", cache, "bogus://x/y", check=False)
    assert p.returncode == 1 and "unknown transport" in p.stderr
    # one manifest: no tag needed
    L.write_oci(str(tmp_path / "one"), {None: a})
    assert olrun("pull", "--cache", cache, f"oci:{tmp_path}/one").stdout.strip() == a.config_digest


def test_platform_index(tmp_path):
    amd = L.Image([L.busybox_layer(), L.Layer().file("arch", "amd64")], cmd=["x"])
    arm = L.Image([L.busybox_layer(), L.Layer().file("arch", "arm64")], cmd=["x"], arch="arm64")
    lay = str(tmp_path / "l")
    digests = L.write_oci(lay, {"amd": amd, "arm": arm})
    L.add_platform_index(lay, digests, {"arm": "arm64", "amd": "amd64"}, "multi")
    cache = str(tmp_path / "c")
    assert olrun("pull", "--cache", cache, f"oci:{lay}:multi").stdout.strip() == amd.config_digest
    out = olrun("pull", "--cache", cache, "--platform", "linux/arm64", f"oci:{lay}:multi").stdout.strip()
    assert out == arm.config_digest
    assert open(os.path.join(rootfs_of(cache, out), "arch")).read() == "arm64"
    p = olrun("pull", "--cache", cache, "--platform", "linux/s390x", f"oci:{lay}:multi", check=False)
    assert p.returncode == 1 and "no image for platform linux/s390x" in p.stderr


def test_oci_archive_and_docker_archive(tmp_path):
    img = L.Image([L.busybox_layer(), L.Layer().file("marker", "archive")], cmd=["/bin/cat", "/marker"])
    other = L.Image([L.busybox_layer()], cmd=["x"])
    L.write_oci(str(tmp_path / "l"), {"v1": img})
    L.write_oci_archive(str(tmp_path / "img.tar"), str(tmp_path / "l"))
    L.write_docker_archive(str(tmp_path / "docker.tar"), {"example.com/app:v1": img, "other:latest": other})
    L.write_docker_archive(str(tmp_path / "single.tar"), {"app:v1": img})
    cache = str(tmp_path / "c")
    for ref in (f"oci-archive:{tmp_path}/img.tar:v1", f"oci-archive:{tmp_path}/img.tar",
                f"docker-archive:{tmp_path}/docker.tar:example.com/app:v1", f"docker-archive:{tmp_path}/single.tar"):
        assert olrun("pull", "--cache", cache, ref).stdout.strip() == img.config_digest, ref
    assert olrun("pull", "--cache", cache, f"docker-archive:{tmp_path}/docker.tar:other:latest").stdout.strip() \
        == other.config_digest
    p = olrun("pull", "--cache", cache, f"docker-archive:{tmp_path}/docker.tar", check=False)
    assert p.returncode == 1 and "REPO:TAG" in p.stderr
    # read in place: nothing of these sources lands in the blob cache
    assert os.listdir(os.path.join(cache, "blobs", "sha256")) == []
    assert open(os.path.join(rootfs_of(cache, img.config_digest), "marker")).read() == "archive"


def test_images_and_prune(tmp_path):
    img = L.Image([L.busybox_layer()], cmd=["x"])
    L.write_oci(str(tmp_path / "l"), {"v1": img})
    cache = str(tmp_path / "c")
    olrun("pull", "--cache", cache, f"oci:{tmp_path}/l:v1")
    out = json.loads(olrun("images", "--cache", cache, "--format", "json").stdout)
    assert [i["id"] for i in out] == [img.config_digest]
    assert out[0]["refs"] == [f"oci:{tmp_path}/l:v1"]
    assert img.config_digest[7:19] in olrun("images", "--cache", cache).stdout
    # leftovers: an orphan blob, a stale temp dir and partial download
    orphan = os.path.join(cache, "blobs", "sha256", "0" * 64)
    open(orphan, "w").write("x")
    os.mkdir(os.path.join(cache, "tmp", "unpack-stale"))
    open(os.path.join(cache, "blobs", "partial", "1" * 64), "w").write("x")
    out = olrun("cache", "prune", "--cache", cache).stdout
    assert "removed 2 blobs" in out and "1 interrupted" in out
    assert not os.path.exists(orphan) and os.listdir(os.path.join(cache, "tmp")) == []
    assert os.path.isdir(rootfs_of(cache, img.config_digest))


def test_concurrent_pulls_unpack_once(tmp_path):
    img = L.Image([L.busybox_layer(), L.Layer().file("big", os.urandom(8 << 20))], cmd=["x"])
    L.write_oci(str(tmp_path / "l"), {"v1": img})
    cache = str(tmp_path / "c")
    procs = [subprocess.Popen([L.OLRUN, "pull", "--cache", cache, f"oci:{tmp_path}/l:v1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all(o[0].strip() == img.config_digest for o in outs)
    # exactly one of them unpacked (the others found it done under the lock)
    assert sum("unpack layer" in o[1] for o in outs) == 1
    assert os.listdir(os.path.join(cache, "tmp")) == []


def test_rootless_unpack(tmp_path):
    base = tempfile.mkdtemp(prefix="olrun-rootless-")
    try:
        os.chmod(base, 0o755)
        img = L.Image([L.busybox_layer(), L.Layer().file("suid", "s", mode=0o4755).chardev("null", 1, 3)
                       .file("owned", "o", uid=1234)], cmd=["x"])
        L.write_oci(os.path.join(base, "l"), {"v1": img})
        cache = os.path.join(base, "cache")
        os.mkdir(cache)
        os.chown(cache, 65534, 65534)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", L.OLRUN, "pull",
                            "--cache", cache, f"oci:{base}/l:v1"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        root = rootfs_of(cache, p.stdout.strip())
        assert "device nodes skipped" in p.stderr and "setuid/setgid bits dropped" in p.stderr
        assert stat.S_IMODE(os.lstat(os.path.join(root, "suid")).st_mode) == 0o755
        assert not os.path.lexists(os.path.join(root, "null"))
        assert os.lstat(os.path.join(root, "owned")).st_uid == 65534
    finally:
        shutil.rmtree(base)
