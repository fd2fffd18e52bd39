"""`make static`: the static-pie olrun runs containers with no dynamic
loader, and says clearly what it cannot do (load the image libraries)."""
import os
import struct
import subprocess

import pytest

from conftest import Olrun, checked

STATIC = os.environ.get("OLRUN_STATIC_BIN",
                        os.path.join(os.path.dirname(__file__), "../../build/static/olrun"))
pytestmark = pytest.mark.skipif(not os.path.exists(STATIC), reason="no static build (make static)")

PT_INTERP = 3


def program_header_types(path):
    """The p_type of each ELF64 program header."""
    with open(path, "rb") as f:
        ehdr = f.read(64)
        assert ehdr[:4] == b"\x7fELF" and ehdr[4] == 2, "not an ELF64 file"
        phoff, = struct.unpack_from("<Q", ehdr, 32)
        phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
        types = []
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            types.append(struct.unpack("<I", f.read(4))[0])
        return types


class StaticOlrun(Olrun):
    def cmd(self, *args, root=True):
        base = [STATIC] + (["--root", self.root] if root else [])
        return base + [str(a) for a in args]


@pytest.fixture
def static(tmp_path):
    yield from checked(StaticOlrun(str(tmp_path / "state"), tmp_path))


def test_no_dynamic_loader():
    types = program_header_types(STATIC)
    assert types and PT_INTERP not in types, types


def test_runs_a_container(static, bundle):
    # Seen from inside: its own pid namespace, the config's hostname and
    # capability sets, so the whole runtime path ran, not just --version.
    bundle.config["hostname"] = "static-box"
    bundle.sh("echo $$; hostname; grep CapEff /proc/self/status")
    p = static.run("run", "-b", bundle.path, static.new_id())
    assert p.returncode == 0, p.stderr
    pid, host, capeff = p.stdout.split("\n")[:3]
    assert pid == "1" and host == "static-box"
    # CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE: the base config's.
    assert capeff.split()[1] == "%016x" % ((1 << 5) | (1 << 10) | (1 << 29)), capeff


def test_images_refused_with_the_reason(static, tmp_path):
    layout = tmp_path / "layout"
    subprocess.run(["sh", os.path.join(os.path.dirname(__file__), "../make_busybox_image.sh"), str(layout)],
                   check=True, capture_output=True)
    ref = "oci:%s:latest" % layout
    for args in (["pull", "--cache", tmp_path / "cache", ref], ["run", "--cache", tmp_path / "cache", ref, "true"]):
        p = static.run(*args)
        assert p.returncode != 0
        assert "this olrun is the static build, which cannot load libraries" in p.stderr, p.stderr
