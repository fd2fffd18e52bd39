"""./olrun is static-pie (no dynamic loader on any runtime verb); what
needs dlopen()ed libraries runs in ./olrun-images, which olrun execs.
The rest of the suite runs ./olrun itself, launcher included; these tests
check the split."""
import os
import shutil
import struct
import subprocess

import pytest

from conftest import Olrun, checked

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
STATIC, HELPER = os.path.join(TOP, "olrun"), os.path.join(TOP, "olrun-images")
pytestmark = pytest.mark.skipif(not os.path.exists(HELPER), reason="no release build (make)")

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


class AloneOlrun(Olrun):
    """./olrun copied to a directory of its own: no olrun-images beside it
    (nor installed in LIBEXECDIR, on a test machine)."""

    def __init__(self, root, tmp_path):
        super().__init__(root, tmp_path)
        self.binary = str(tmp_path / "bin" / "olrun")
        os.makedirs(os.path.dirname(self.binary))
        shutil.copy2(STATIC, self.binary)

    def cmd(self, *args, root=True):
        base = [self.binary] + (["--root", self.root] if root else [])
        return base + [str(a) for a in args]


@pytest.fixture
def alone(tmp_path):
    yield from checked(AloneOlrun(str(tmp_path / "state"), tmp_path))


def test_olrun_is_static_and_its_image_half_is_not():
    assert PT_INTERP not in program_header_types(STATIC)
    assert PT_INTERP in program_header_types(HELPER)


def test_image_commands_need_the_helper(alone, tmp_path):
    layout = tmp_path / "layout"
    subprocess.run(["sh", os.path.join(TOP, "tests/make_busybox_image.sh"), str(layout)],
                   check=True, capture_output=True)
    ref = "oci:%s:latest" % layout
    cache = tmp_path / "cache"
    for args in (["pull", "--cache", cache, ref], ["run", "--cache", cache, ref, "true"],
                 ["images", "--cache", cache], ["--cgroup-manager", "systemd", "list"]):
        p = alone.run(*args)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert "needs olrun-images" in p.stderr, p.stderr
        # Handed over (or refused) before anything was done.
        assert not cache.exists()
    # Installed (bin/olrun, libexec/olrun/olrun-images, wherever the tree
    # is) the same pull works, through it.  (Beside it, as in the build
    # tree, is how the rest of the suite runs.)
    libexec = tmp_path / "libexec" / "olrun"
    libexec.mkdir(parents=True)
    shutil.copy2(HELPER, libexec)
    p = alone.run("pull", "--cache", cache, ref)
    assert p.returncode == 0 and p.stdout.startswith("sha256:"), p.stderr


def test_runtime_verbs_need_no_helper(alone, bundle):
    # Seen from inside: its own pid namespace and the config's hostname,
    # so the whole runtime path ran without olrun-images.
    bundle.config["hostname"] = "static-box"
    bundle.sh("echo $$; hostname")
    p = alone.run("run", "-b", bundle.path, alone.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["1", "static-box"]
    # features falls back to its own answer.
    p = alone.run("features")
    assert p.returncode == 0 and '"ociVersionMax"' in p.stdout, p.stderr
