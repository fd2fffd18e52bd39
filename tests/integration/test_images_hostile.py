"""Hostile layers: each is rejected or neutralised, and nothing is written
outside the rootfs.  Every case plants a target outside the cache and checks
that it is untouched afterwards."""
import gzip
import io
import os
import tarfile
import zlib

import pytest

import images_lib as L
from images_lib import olrun

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def pull(tmp_path, layers, *opts, compression="gzip"):
    img = L.Image([L.busybox_layer()] + layers, compression=compression, cmd=["x"])
    lay = str(tmp_path / "layout")
    L.write_oci(lay, {"v1": img})
    cache = str(tmp_path / "cache")
    p = olrun("pull", "--cache", cache, *opts, f"oci:{lay}:v1", check=False)
    return p, cache, img


def rootfs(cache, img):
    return os.path.join(cache, "images", "sha256", img.config_digest[7:], "rootfs")


def no_partial_rootfs(cache):
    assert os.listdir(os.path.join(cache, "images", "sha256")) == []
    assert os.listdir(os.path.join(cache, "tmp")) == []


@pytest.fixture
def outside(tmp_path):
    d = tmp_path / "outside"
    d.mkdir()
    (d / "victim").write_text("original")
    return d


def test_dotdot_and_absolute_paths_stay_inside(tmp_path, outside):
    depth = "../" * 30
    l = (L.Layer().file(depth + str(outside).lstrip("/") + "/dotdot", "x")
         .file(str(outside) + "/absolute", "x")
         .file(depth + str(outside).lstrip("/") + "/victim", "overwritten"))
    p, cache, img = pull(tmp_path, [l])
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(outside)) == ["victim"] and (outside / "victim").read_text() == "original"
    # neutralised: they landed at the same path inside the rootfs
    assert os.path.isfile(os.path.join(rootfs(cache, img), str(outside).lstrip("/"), "absolute"))


def test_symlink_then_write_through_it(tmp_path, outside):
    l1 = L.Layer().symlink("evil", str(outside)).symlink("evil2", "../" * 20 + str(outside).lstrip("/"))
    l2 = L.Layer().file("evil/pwned", "x").file("evil2/pwned2", "x").file("evil/victim", "overwritten")
    p, cache, img = pull(tmp_path, [l1, l2])
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(outside)) == ["victim"] and (outside / "victim").read_text() == "original"
    # the writes went to the rootfs's own /<outside path>, where the links resolve inside it
    assert os.path.isfile(os.path.join(rootfs(cache, img), str(outside).lstrip("/"), "pwned"))


def test_symlink_as_final_component_is_replaced_not_followed(tmp_path, outside):
    l1 = L.Layer().symlink("target", str(outside / "victim"))
    l2 = L.Layer().file("target", "overwritten")
    p, cache, img = pull(tmp_path, [l1, l2])
    assert p.returncode == 0, p.stderr
    assert (outside / "victim").read_text() == "original"
    assert open(os.path.join(rootfs(cache, img), "target")).read() == "overwritten"


def test_hardlink_to_etc_shadow(tmp_path):
    before = os.stat("/etc/shadow")
    p, cache, img = pull(tmp_path, [L.Layer().hardlink("shadow", "/etc/shadow")])
    assert p.returncode == 1 and "hardlink target `etc/shadow`" in p.stderr
    assert os.stat("/etc/shadow").st_nlink == before.st_nlink
    no_partial_rootfs(cache)
    # a target that exists in the rootfs is the rootfs's own file
    p, cache, img = pull(tmp_path / "b", [L.Layer().dir("etc").file("etc/shadow", "mine")
                                          .hardlink("shadow", "/etc/shadow")])
    assert p.returncode == 0, p.stderr
    assert open(os.path.join(rootfs(cache, img), "shadow")).read() == "mine"
    assert os.stat("/etc/shadow").st_nlink == before.st_nlink


@pytest.mark.parametrize("name", ["a/.wh..", "a/.wh...", ".wh..."])
def test_whiteout_of_dotdot(tmp_path, outside, name):
    # `.wh..` whites out `.`, `.wh...` whites out `..`: neither names an
    # entry of the layer below (at the top, `..` is the rootfs's parent).
    # (The message is matched whole: tmp_path itself contains "whiteout".)
    l = L.Layer().dir("a").file(name, "")
    p, cache, img = pull(tmp_path, [l])
    assert p.returncode == 1 and "whiteout `%s` names no entry" % name.split("/")[-1] in p.stderr, p.stderr
    assert (outside / "victim").read_text() == "original"
    no_partial_rootfs(cache)


def test_gzip_bomb_hits_the_size_cap(tmp_path):
    # 256 MiB of zeros in one entry: ~256 KiB compressed
    hdr = tarfile.TarInfo("bomb")
    hdr.size = 256 << 20
    raw = hdr.tobuf(format=tarfile.PAX_FORMAT)
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    blob = comp.compress(raw)
    zeros = bytes(1 << 20)
    for _ in range(256):
        blob += comp.compress(zeros)
    blob += comp.compress(bytes(1024)) + comp.flush()
    img_raw = bytearray()
    p, cache, img = pull(tmp_path, [_Precompressed(blob, raw_len=hdr.size)], "--max-size", "64M")
    assert p.returncode == 1 and "exceeds the limit" in p.stderr
    no_partial_rootfs(cache)


class _Precompressed:
    """A layer given as compressed bytes (the builder would take forever)."""

    def __init__(self, blob, raw_len):
        self.blob = blob


def test_million_entries_hit_the_entry_cap(tmp_path):
    # one million empty files, f0000000..f0999999: a ustar header template
    # with the name and checksum patched (tarfile would take ~20 s).
    t = tarfile.TarInfo("f0000000")
    t.mtime = 0
    tmpl = t.tobuf(format=tarfile.USTAR_FORMAT)
    base = sum(tmpl) - sum(tmpl[148:156]) + 8 * 32 - sum(b"0000000")
    head, mid, tail = tmpl[:1], tmpl[8:148], tmpl[156:]
    buf = io.BytesIO()
    gz = gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=1, mtime=0)
    for block in range(100):
        out = []
        for i in range(block * 10000, (block + 1) * 10000):
            digits = b"%07d" % i
            out += [head, digits, mid, b"%06o\0 " % (base + sum(digits)), tail]
        gz.write(b"".join(out))
    gz.write(bytes(1024))
    gz.close()
    p, cache, img = pull(tmp_path, [_Precompressed(buf.getvalue(), 0)], "--max-entries", "50000")
    assert p.returncode == 1 and "more than 50000 entries" in p.stderr
    no_partial_rootfs(cache)


def test_truncated_gzip(tmp_path):
    l = L.Layer().file("data", os.urandom(1 << 20))
    full = gzip.compress(l.raw_bytes(), compresslevel=1)
    p, cache, img = pull(tmp_path, [_Precompressed(full[: len(full) // 2], 0)])
    assert p.returncode == 1 and ("truncated gzip" in p.stderr or "digest" in p.stderr), p.stderr
    no_partial_rootfs(cache)


def test_blob_digest_mismatch(tmp_path):
    img = L.Image([L.busybox_layer(), L.Layer().file("a", "a")], cmd=["x"])
    lay = str(tmp_path / "layout")
    L.write_oci(lay, {"v1": img})
    blob = os.path.join(lay, "blobs", "sha256", L.sha256(img.blobs[1])[7:])
    data = bytearray(open(blob, "rb").read())
    # same length, valid gzip of a different tar: the stream parses, the digest does not match
    other = L.compress(L.Layer().file("b", "b").raw_bytes(), "gzip")
    open(blob, "wb").write(other)
    cache = str(tmp_path / "cache")
    p = olrun("pull", "--cache", cache, f"oci:{lay}:v1", check=False)
    assert p.returncode == 1 and "digest mismatch" in p.stderr
    assert L.sha256(bytes(data)) in p.stderr
    no_partial_rootfs(cache)


def test_diff_id_mismatch(tmp_path):
    img = L.Image([L.busybox_layer(), L.Layer().file("a", "a")], cmd=["x"])
    img.diff_ids[1] = "sha256:" + "0" * 64
    import json
    cfg = json.loads(img.config)
    cfg["rootfs"]["diff_ids"] = img.diff_ids
    img.config = json.dumps(cfg).encode()
    lay = str(tmp_path / "layout")
    L.write_oci(lay, {"v1": img})
    cache = str(tmp_path / "cache")
    p = olrun("pull", "--cache", cache, f"oci:{lay}:v1", check=False)
    assert p.returncode == 1 and "does not match rootfs.diff_ids[1]" in p.stderr
    no_partial_rootfs(cache)
