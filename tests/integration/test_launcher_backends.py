"""The launcher under every installed backend: olrun's embedded runtime,
crun and runc (executed with runc's command line).  The same image,
command and options must give the same output and exit status.

crun and runc write to every cgroup hierarchy they see, and this host's
v1 `memory` one is not ours: every olrun here runs in a private mount
namespace with cgroup2 alone at /sys/fs/cgroup (DESIGN.md)."""
import json
import os
import subprocess

import pytest

from launcher_lib import Launcher, backends, leftovers, pure_cgroup2_wrap, wait_for, write_image
from test_launcher_detached import Terminal
from test_launcher import terminal_session

SCRIPT = "echo out; echo err >&2; id; hostname; pwd; echo $IMAGE_VAR; cat /data/pristine; " \
         "grep -c . /proc/self/mountinfo >/dev/null; exit 5"


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("backends-image")
    write_image(str(d / "layout"), cmd=["sh"], workdir="/home/alice")
    return {"ref": "oci:%s" % (d / "layout"), "cache": str(d / "cache")}


@pytest.fixture(params=backends())
def launcher(request, tmp_path, image):
    l = Launcher(str(tmp_path / "state"), image["cache"], wrap=pure_cgroup2_wrap())
    l.backend = request.param
    yield l
    for cid in l.instances():
        l.olrun("stop", "-t", "0", cid)
        l.olrun("delete", cid)
    assert leftovers(l.root) == []


def test_same_output_and_status(launcher, image, tmp_path):
    p = launcher.run("-q", "--backend", launcher.backend, "--hostname", "same", image["ref"], "sh", "-c", SCRIPT)
    assert p.returncode == 5, p.stderr
    assert p.stdout.splitlines() == ["out", "uid=0(root) gid=0(root)", "same", "/home/alice",
                                     "from-image", "from the image"]
    assert p.stderr == "err\n"


def test_stdin_byte_exact(launcher, image):
    data = os.urandom(1 << 20)
    p = subprocess.run(launcher.cmd(*launcher.run_args("--backend", launcher.backend, image["ref"], "cat")),
                       input=data, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data


def test_terminal(launcher, image):
    terminal_session(launcher.cmd(*launcher.run_args("--backend", launcher.backend, image["ref"], "sh")))


def test_detached_attach_stop(launcher, image):
    p = launcher.run("-d", "-t", "-i", "--backend", launcher.backend, image["ref"], "sh")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    t = Terminal(launcher, cid)
    t.type(b"echo in-$((40+2))\r")
    assert t.read_until(b"in-42"), t.out
    t.type(b"\x10\x11")
    assert t.close()[0] == 0
    assert launcher.olrun("stop", "-t", "1", cid).returncode == 0
    exit_file = os.path.join(launcher.root, ".launch", cid, "exit")
    assert os.path.exists(exit_file)
    assert "in-42" in launcher.olrun("logs", cid).stdout
    assert launcher.olrun("delete", cid).returncode == 0


@pytest.mark.parametrize("how", ["option", "environment"])
def test_runtime_verbs_go_to_the_backend(launcher, image, how):
    if launcher.backend == "embedded":
        pytest.skip("the embedded runtime is olrun itself")
    p = launcher.run("-d", "--backend", launcher.backend, image["ref"], "sleep", "60")
    assert p.returncode == 0, p.stderr
    cid = p.stdout.strip()
    env = dict(os.environ, OLRUN_BACKEND=launcher.backend)
    args = ["--backend", launcher.backend, "state", cid] if how == "option" else ["state", cid]
    l = Launcher(launcher.root, launcher.cache, wrap=launcher.wrap, env=env if how == "environment" else None)
    state = l.olrun(*args)
    assert state.returncode == 0, state.stderr
    assert json.loads(state.stdout)["id"] == cid
    assert os.path.isdir(os.path.join(launcher.root, ".backend-" + launcher.backend, cid))
    # the embedded runtime has no such container
    assert launcher.olrun("state", cid).returncode == 1
    assert launcher.olrun("stop", "-t", "0", cid).returncode == 0


def test_a_missing_backend_is_named(tmp_path, image):
    l = Launcher(str(tmp_path / "state"), image["cache"])
    for name, words in (("nosuch-runtime", "`nosuch-runtime` is not installed"),
                        (str(tmp_path / "none"), "is not an executable")):
        p = l.run("--backend", name, image["ref"], "true")
        assert p.returncode == 1 and words in p.stderr, p.stderr
        p = l.olrun("--backend", name, "list")
        assert p.returncode == 1 and words in p.stderr, p.stderr
    assert leftovers(l.root) == []


def test_a_detached_start_that_fails_is_reported_and_undone(launcher, image):
    p = launcher.run("-q", "-d", "--backend", launcher.backend, image["ref"], "/nonexistent-program")
    assert p.returncode in (1, 127), p.stdout
    assert "nonexistent-program" in p.stderr and p.stdout == ""
    assert launcher.instances() == []
