"""docker:// against Debian's docker-registry on 127.0.0.1, filled with
skopeo: tags, digests, manifest lists, bearer-token and htpasswd+TLS auth,
a corrupted blob, and an interrupted download that resumes."""
import base64
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

import images_lib as L
from images_lib import olrun

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
                                 reason="docker-registry and skopeo are needed")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, root, tls=None, htpasswd=None):
        self.port = free_port()
        self.root = root
        os.makedirs(root, exist_ok=True)
        cfg = {"version": 0.1, "log": {"level": "error"},
               "storage": {"filesystem": {"rootdirectory": os.path.join(root, "data")}},
               "http": {"addr": f"127.0.0.1:{self.port}"}}
        if tls:
            cfg["http"]["tls"] = {"certificate": tls[0], "key": tls[1]}
        if htpasswd:
            cfg["auth"] = {"htpasswd": {"realm": "test", "path": htpasswd}}
        with open(os.path.join(root, "config.yml"), "w") as f:
            json.dump(cfg, f)  # YAML is a superset of JSON
        self.proc = subprocess.Popen(["docker-registry", "serve", os.path.join(root, "config.yml")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def push(self, src, dest, *extra):
        subprocess.run(["skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false", *extra, src,
                        f"docker://{self.host}/{dest}"], check=True, capture_output=True)

    def blob_path(self, digest):
        h = digest[7:]
        return os.path.join(self.root, "data", "docker", "registry", "v2", "blobs", "sha256", h[:2], h, "data")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Proxy(http.server.ThreadingHTTPServer):
    """In front of a registry: optional bearer-token auth (with its own
    token realm), and optionally cuts the first response for one blob."""

    def __init__(self, upstream, token_auth=None, cut_blob=None):
        self.upstream, self.token_auth, self.cut_blob = upstream, token_auth, cut_blob
        self.log, self.cut_done = [], False
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def host(self):
        return f"127.0.0.1:{self.server_address[1]}"


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        srv = self.server
        srv.log.append((self.path, self.headers.get("Range"), self.headers.get("Authorization")))
        if srv.token_auth:
            user, pw = srv.token_auth
            if self.path.startswith("/token"):
                want = "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
                if self.headers.get("Authorization") != want:
                    return self.reply(401)
                return self.reply(200, json.dumps({"token": "secret-token"}).encode())
            if self.headers.get("Authorization") != "Bearer secret-token":
                realm = f"http://{srv.host}/token"
                return self.reply(401, b"{}", [("WWW-Authenticate",
                                                f'Bearer realm="{realm}",service="test",scope="repository:x:pull"')])
        conn = http.client.HTTPConnection(srv.upstream)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range")}
        conn.request("GET", self.path, headers=hdrs)
        r = conn.getresponse()
        body = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cut_blob and srv.cut_blob in self.path and not srv.cut_done and r.status == 200:
            srv.cut_done = True
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    d = tmp_path_factory.mktemp("registry")
    img = L.Image([L.busybox_layer(), L.Layer().file("big", os.urandom(4 << 20)).file("marker", "registry")],
                  cmd=["/bin/cat", "/marker"])
    digests = L.write_oci(str(d / "layout"), {"v1": img})
    # a manifest list: amd64 and arm64 images under one tag
    arm = L.Image([L.busybox_layer(), L.Layer().file("marker", "arm")], cmd=["x"], arch="arm64")
    ml = str(d / "multi")
    md = L.write_oci(ml, {"amd": img, "arm": arm})
    L.add_platform_index(ml, md, {"arm": "arm64", "amd": "amd64"}, "list")
    r = Registry(str(d / "reg"))
    r.push(f"oci:{d}/layout:v1", "test/img:v1")
    r.push(f"oci:{ml}:list", "test/multi:v1", "--all")
    yield r, img, arm, digests["v1"], d
    r.stop()


def test_pull_by_tag_then_digest(reg, tmp_path):
    r, img, _, mdigest, _ = reg
    cache = str(tmp_path / "c")
    out = olrun("pull", "--cache", cache, "--tls-verify=false", f"docker://{r.host}/test/img:v1").stdout.strip()
    assert out == img.config_digest
    blobs = os.listdir(os.path.join(cache, "blobs", "sha256"))
    for b in img.blobs:
        assert L.sha256(b)[7:] in blobs
    root = os.path.join(cache, "images", "sha256", out[7:], "rootfs")
    assert open(os.path.join(root, "marker")).read() == "registry"
    # by digest, with a fresh cache (network), then the tag again without a registry
    out = olrun("pull", "--cache", str(tmp_path / "c2"), "--tls-verify=false",
                f"docker://{r.host}/test/img@{mdigest}").stdout.strip()
    assert out == img.config_digest
    p = olrun("pull", "--cache", cache, "--tls-verify=false", "docker://127.0.0.1:1/test/img:v1", check=False)
    assert p.returncode == 1
    p = olrun("pull", "--cache", cache, "--tls-verify=false", f"docker://{r.host}/test/nope:v1", check=False)
    assert p.returncode == 1 and "does not exist" in p.stderr


def test_manifest_list(reg, tmp_path):
    r, img, arm, _, _ = reg
    cache = str(tmp_path / "c")
    ref = f"docker://{r.host}/test/multi:v1"
    assert olrun("pull", "--cache", cache, "--tls-verify=false", ref).stdout.strip() == img.config_digest
    out = olrun("pull", "--cache", cache, "--tls-verify=false", "--platform", "linux/arm64", ref).stdout.strip()
    assert out == arm.config_digest


def test_bearer_token_auth(reg, tmp_path):
    r, img, _, _, _ = reg
    px = Proxy(r.host, token_auth=("alice", "s3cret"))
    try:
        ref = f"docker://{px.host}/test/img:v1"
        p = olrun("pull", "--cache", str(tmp_path / "c0"), "--tls-verify=false", ref, check=False,
                  env=dict(os.environ, REGISTRY_AUTH_FILE=str(tmp_path / "none.json")))
        assert p.returncode == 1 and "token" in p.stderr
        auth = tmp_path / "auth.json"
        auth.write_text(json.dumps({"auths": {px.host: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}))
        p = olrun("pull", "--cache", str(tmp_path / "c"), "--tls-verify=false", ref,
                  env=dict(os.environ, REGISTRY_AUTH_FILE=str(auth)))
        assert p.stdout.strip() == img.config_digest
        assert any(path.startswith("/token") for path, _, _ in px.log)
        assert any(a == "Bearer secret-token" for _, _, a in px.log)
    finally:
        px.shutdown()


def test_htpasswd_over_tls(reg, tmp_path):
    r, img, _, _, d = reg
    certs = tmp_path / "certs"
    certs.mkdir()
    sh = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=certs)
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
       "-keyout", "ca.key", "-out", "ca.crt")
    sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "srv.key",
       "-out", "srv.csr")
    (certs / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    sh("openssl", "x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
       "-days", "2", "-extfile", "ext", "-out", "srv.crt")
    sh("htpasswd", "-Bbc", "htpasswd", "bob", "pw")
    tr = Registry(str(tmp_path / "reg"), tls=(str(certs / "srv.crt"), str(certs / "srv.key")),
                  htpasswd=str(certs / "htpasswd"))
    try:
        tr.push(f"oci:{d}/layout:v1", "test/img:v1", "--dest-creds", "bob:pw")
        cadir = tmp_path / "ca"
        cadir.mkdir()
        shutil.copy(certs / "ca.crt", cadir / "ca.crt")
        auth = tmp_path / "auth.json"
        auth.write_text(json.dumps({"auths": {tr.host: {"auth": base64.b64encode(b"bob:pw").decode()}}}))
        ref = f"docker://{tr.host}/test/img:v1"
        # without the CA: a TLS error; with it but no credentials: auth required
        p = olrun("pull", "--cache", str(tmp_path / "c"), "--authfile", str(auth), ref, check=False)
        assert p.returncode == 1 and "certificate" in p.stderr.lower()
        p = olrun("pull", "--cache", str(tmp_path / "c"), "--cert-dir", str(cadir), "--authfile",
                  str(tmp_path / "none.json"), ref, check=False)
        assert p.returncode == 1 and "authentication required" in p.stderr
        out = olrun("pull", "--cache", str(tmp_path / "c"), "--cert-dir", str(cadir), "--authfile", str(auth),
                    ref).stdout.strip()
        assert out == img.config_digest
    finally:
        tr.stop()


def test_interrupted_download_resumes(reg, tmp_path):
    r, img, _, _, _ = reg
    big = L.sha256(img.blobs[1])
    px = Proxy(r.host, cut_blob=big)
    try:
        out = olrun("pull", "--cache", str(tmp_path / "c"), "--tls-verify=false",
                    f"docker://{px.host}/test/img:v1").stdout.strip()
        assert out == img.config_digest
        gets = [(p, rng) for p, rng, _ in px.log if big in p]
        assert len(gets) >= 2 and gets[0][1] is None
        assert gets[1][1] == f"bytes={len(img.blobs[1]) // 2}-", gets
    finally:
        px.shutdown()


def test_corrupted_blob_leaves_nothing(tmp_path):
    img = L.Image([L.busybox_layer(), L.Layer().file("x", os.urandom(1 << 20))], cmd=["x"])
    L.write_oci(str(tmp_path / "layout"), {"v1": img})
    r = Registry(str(tmp_path / "reg"))
    try:
        r.push(f"oci:{tmp_path}/layout:v1", "bad/img:v1")
        bad = L.sha256(img.blobs[1])
        path = r.blob_path(bad)
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0xff
        open(path, "wb").write(data)
        cache = str(tmp_path / "c")
        p = olrun("pull", "--cache", cache, "--tls-verify=false", f"docker://{r.host}/bad/img:v1", check=False)
        assert p.returncode == 1 and "digest mismatch" in p.stderr and bad in p.stderr
        assert bad[7:] not in os.listdir(os.path.join(cache, "blobs", "sha256"))
        assert os.listdir(os.path.join(cache, "blobs", "partial")) == []
        assert os.listdir(os.path.join(cache, "images", "sha256")) == []
    finally:
        r.stop()
