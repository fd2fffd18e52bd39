"""Builds test images offline for the images tests: layers made here (tarfile),
written as OCI layouts, oci-archives and docker archives.  No network."""
import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import zlib

OLRUN = os.environ.get("OLRUN", os.path.join(os.path.dirname(__file__), "../../olrun"))
BUSYBOX = "/bin/busybox"


def olrun(*args, check=True, env=None, input=None, timeout=300):
    p = subprocess.run([OLRUN, *args], capture_output=True, text=True, env=env, input=input, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"olrun {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- layers ----------------------------------------------------------------
class Layer:
    """A tar layer built in memory.  Entries are added in order."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _add(self, ti, data=None, xattrs=None):
        ti.mtime = ti.mtime or 1700000000
        if xattrs:
            # LIBARCHIVE.xattr.NAME=base64(value): binary values survive pax.
            for k, v in xattrs.items():
                v = v if isinstance(v, bytes) else v.encode()
                ti.pax_headers["LIBARCHIVE.xattr." + k] = base64.b64encode(v).decode()
        self.tar.addfile(ti, io.BytesIO(data) if data is not None else None)
        return self

    def file(self, path, data=b"", mode=0o644, uid=0, gid=0, xattrs=None, mtime=None):
        data = data if isinstance(data, bytes) else data.encode()
        ti = tarfile.TarInfo(path)
        ti.size, ti.mode, ti.uid, ti.gid = len(data), mode, uid, gid
        ti.mtime = mtime or 0
        return self._add(ti, data, xattrs)

    def dir(self, path, mode=0o755, uid=0, gid=0, xattrs=None):
        ti = tarfile.TarInfo(path)
        ti.type, ti.mode, ti.uid, ti.gid = tarfile.DIRTYPE, mode, uid, gid
        return self._add(ti, None, xattrs)

    def symlink(self, path, target, uid=0, gid=0):
        ti = tarfile.TarInfo(path)
        ti.type, ti.linkname, ti.mode, ti.uid, ti.gid = tarfile.SYMTYPE, target, 0o777, uid, gid
        return self._add(ti)

    def hardlink(self, path, target):
        ti = tarfile.TarInfo(path)
        ti.type, ti.linkname, ti.mode = tarfile.LNKTYPE, target, 0o644
        return self._add(ti)

    def chardev(self, path, major, minor, mode=0o666):
        ti = tarfile.TarInfo(path)
        ti.type, ti.devmajor, ti.devminor, ti.mode = tarfile.CHRTYPE, major, minor, mode
        return self._add(ti)

    def fifo(self, path, mode=0o644):
        ti = tarfile.TarInfo(path)
        ti.type, ti.mode = tarfile.FIFOTYPE, mode
        return self._add(ti)

    def whiteout(self, path):
        d, _, name = path.rpartition("/")
        return self.file((d + "/" if d else "") + ".wh." + name)

    def opaque(self, dirpath):
        return self.file(dirpath.rstrip("/") + "/.wh..wh..opq")

    def raw_bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def busybox_layer(extra_dirs=("proc", "sys", "dev", "tmp", "etc", "root", "home")):
    """A runnable base: busybox-static plus the applets the tests use."""
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    l = Layer()
    for d in ("bin",) + tuple(extra_dirs):
        l.dir(d)
    l.file("bin/busybox", bb, mode=0o755)
    for applet in ("sh", "echo", "cat", "ls", "id", "stat", "env", "pwd", "true", "sha256sum", "head"):
        l.hardlink("bin/" + applet, "bin/busybox")
    l.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    l.file("etc/group", "root:x:0:\nstaff:x:50:alice\nalice:x:1000:\n")
    return l


def _inflate(blob):
    d = zlib.decompressobj(31)
    try:
        return d.decompress(blob)
    except zlib.error:
        return b""


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-1"], input=data, capture_output=True, check=True).stdout
    return data


LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    None: "application/vnd.oci.image.layer.v1.tar",
}


def image_config(diff_ids, cmd=None, entrypoint=None, env=None, workdir=None, user=None, labels=None,
                 arch="amd64"):
    cfg = {"Env": env or ["PATH=/bin"]}
    if cmd is not None:
        cfg["Cmd"] = cmd
    if entrypoint is not None:
        cfg["Entrypoint"] = entrypoint
    if workdir:
        cfg["WorkingDir"] = workdir
    if user:
        cfg["User"] = user
    if labels:
        cfg["Labels"] = labels
    return {"architecture": arch, "os": "linux", "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": diff_ids}}


class Image:
    """Layers (raw tar bytes), their compression, and a config."""

    def __init__(self, layers, compression="gzip", **config):
        pre = {i: l.blob for i, l in enumerate(layers) if hasattr(l, "blob")}
        self.raw = [l.raw_bytes() if isinstance(l, Layer) else b"" if i in pre else l for i, l in enumerate(layers)]
        self.compression = compression if isinstance(compression, list) else [compression] * len(self.raw)
        self.blobs = [pre[i] if i in pre else compress(r, c)
                      for i, (r, c) in enumerate(zip(self.raw, self.compression))]
        # a precompressed layer's DiffID is that of its (possibly partial) content
        self.diff_ids = [sha256(_inflate(pre[i]) if i in pre else r) for i, r in enumerate(self.raw)]
        self.config = json.dumps(image_config(self.diff_ids, **config)).encode()

    def manifest(self):
        return json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(self.config), "size": len(self.config)},
            "layers": [{"mediaType": LAYER_TYPES[c], "digest": sha256(b), "size": len(b)}
                       for b, c in zip(self.blobs, self.compression)],
        }).encode()

    @property
    def config_digest(self):
        return sha256(self.config)


def _put_blob(layout, data):
    d = sha256(data)
    p = os.path.join(layout, "blobs", "sha256", d[7:])
    with open(p, "wb") as f:
        f.write(data)
    return d


def write_oci(layout, images, index_extra=None):
    """images: {tag: Image}.  Returns {tag: manifest digest}."""
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    entries, digests = [], {}
    for tag, img in images.items():
        for b in img.blobs:
            _put_blob(layout, b)
        _put_blob(layout, img.config)
        m = img.manifest()
        digests[tag] = _put_blob(layout, m)
        e = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digests[tag], "size": len(m)}
        if tag:
            e["annotations"] = {"org.opencontainers.image.ref.name": tag}
        entries.append(e)
    entries += index_extra or []
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": entries}, f)
    return digests


def write_oci_archive(path, layout):
    with tarfile.open(path, "w") as t:
        for name in sorted(os.listdir(layout)):
            t.add(os.path.join(layout, name), arcname=name)


def write_docker_archive(path, images):
    """images: {"repo:tag": Image}; layers stored uncompressed, as docker save does."""
    manifest, repos = [], {}
    with tarfile.open(path, "w") as t:
        def put(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for tag, img in images.items():
            layers = []
            for raw in img.raw:
                lid = hashlib.sha256(raw).hexdigest()
                put(f"{lid}/layer.tar", raw)
                layers.append(f"{lid}/layer.tar")
            cfgname = img.config_digest[7:] + ".json"
            put(cfgname, img.config)
            manifest.append({"Config": cfgname, "RepoTags": [tag], "Layers": layers})
            repo, _, t_ = tag.rpartition(":")
            repos.setdefault(repo, {})[t_] = layers[-1].split("/")[0]
        put("manifest.json", json.dumps(manifest).encode())
        put("repositories", json.dumps(repos).encode())


def tree(root):
    """Path -> (type, mode, uid, gid, target-or-sha256) for every entry below root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                kind, extra = "l", os.readlink(p)
            elif os.path.isdir(p):
                kind, extra = "d", None
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    kind, extra = "f", hashlib.sha256(f.read()).hexdigest()
            else:
                kind, extra = "o", (st.st_mode >> 12, os.major(st.st_rdev), os.minor(st.st_rdev))
            out[rel] = (kind, st.st_mode & 0o7777 if kind != "l" else 0, st.st_uid, st.st_gid, extra)
    return out


def add_platform_index(layout, digests, platforms, tag):
    """Add an image index (a manifest list) tagged `tag` to a layout:
    platforms maps a tag of `digests` to its architecture."""
    idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digests[t],
         "size": os.path.getsize(f"{layout}/blobs/sha256/{digests[t][7:]}"),
         "platform": {"os": "linux", "architecture": a}} for t, a in platforms.items()]}).encode()
    dg = _put_blob(layout, idx)
    top = json.load(open(f"{layout}/index.json"))
    top["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": dg,
                             "size": len(idx), "annotations": {"org.opencontainers.image.ref.name": tag}})
    json.dump(top, open(f"{layout}/index.json", "w"))
