"""Hooks: order, state on stdin, namespaces, timeout and failure rules."""
import json
import os

import pytest

from conftest import wait_for


def hook(log, kind, extra=""):
    """A hook that logs its kind, its mount namespace and its stdin."""
    script = ('echo "%s $(readlink /proc/self/ns/mnt) $(cat)" >> %s; %s' % (kind, log, extra))
    return {"path": "/bin/sh", "args": ["sh", "-c", script], "env": ["HOOKVAR=%s" % kind]}


@pytest.fixture
def logdir(tmp_path):
    d = tmp_path / "hooklog"
    d.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o777)
    return d


def read_log(path):
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path).read().splitlines():
        kind, ns, state = line.split(" ", 2)
        out.append((kind, ns, json.loads(state)))
    return out


def test_all_hooks_in_order_with_state(olrun, bundle, logdir):
    log = logdir / "log"
    inside = "/hooklog/log"  # the same file, seen from inside the container
    bundle.config["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(logdir),
                                    "options": ["bind", "rw"]})
    bundle.config["hooks"] = {
        "prestart": [hook(log, "prestart")],
        "createRuntime": [hook(log, "createRuntime")],
        "createContainer": [hook(log, "createContainer")],
        "startContainer": [hook(inside, "startContainer")],
        "poststart": [hook(log, "poststart")],
        "poststop": [hook(log, "poststop")],
    }
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    olrun.run("create", "-b", bundle.path, cid, check=True)
    pid = olrun.state(cid)["pid"]
    kinds = [k for k, _, _ in read_log(log)]
    assert kinds == ["prestart", "createRuntime", "createContainer"]
    olrun.run("start", cid, check=True)
    assert wait_for(lambda: len(read_log(log)) == 5)
    olrun.run("delete", "-f", cid, check=True)
    entries = read_log(log)
    assert [k for k, _, _ in entries] == ["prestart", "createRuntime", "createContainer", "startContainer",
                                          "poststart", "poststop"]
    host_mnt = os.readlink("/proc/self/ns/mnt")
    by_kind = {k: (ns, st) for k, ns, st in entries}
    # Runtime-namespace hooks run on the host; the others in the container.
    for k in ("prestart", "createRuntime", "poststart", "poststop"):
        assert by_kind[k][0] == host_mnt, k
    for k in ("createContainer", "startContainer"):
        assert by_kind[k][0] != host_mnt, k
    for k, (ns, st) in by_kind.items():
        assert st["id"] == cid and st["bundle"] == bundle.path, k
        if k != "poststop":
            assert st["pid"] == pid, k
    assert by_kind["createRuntime"][1]["status"] == "created"
    assert by_kind["poststop"][1]["status"] == "stopped"


def test_hook_env_is_the_hooks_own(olrun, bundle, logdir):
    out = logdir / "env"
    bundle.config["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "env > %s" % out],
                                            "env": ["ONLY=this"]}]}
    bundle.args("true")
    olrun.run("run", "-b", bundle.path, olrun.new_id(), check=True)
    env = dict(l.split("=", 1) for l in out.read_text().splitlines())
    assert env.get("ONLY") == "this" and "PATH" not in env


def test_hook_timeout(olrun, bundle):
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    bundle.args("true")
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "timed out after 1 s" in p.stderr


def test_failing_prestart_fails_create(olrun, bundle):
    bundle.config["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope; exit 3"]}]}
    bundle.args("true")
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1
    assert "prestart hook `/bin/sh`: exit status 3: nope" in p.stderr


def test_failing_start_container_hook_fails_start(olrun, bundle):
    bundle.config["hooks"] = {"startContainer": [{"path": "/bin/false"}]}
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    olrun.run("create", "-b", bundle.path, cid, check=True)
    p = olrun.run("start", cid)
    assert p.returncode == 1 and "startContainer hook" in p.stderr
    assert wait_for(lambda: olrun.state(cid)["status"] == "stopped")
    olrun.run("delete", cid, check=True)


def test_failing_poststart_only_warns(olrun, bundle):
    bundle.config["hooks"] = {"poststart": [{"path": "/bin/false"}]}
    bundle.args("sh", "-c", "exit 4")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 4
    assert "warning" in p.stderr and "poststart hook" in p.stderr


def test_failing_poststop_only_warns(olrun, bundle):
    bundle.config["hooks"] = {"poststop": [{"path": "/bin/false"}]}
    bundle.args("true")
    cid = olrun.new_id()
    olrun.run("run", "--keep", "-b", bundle.path, cid, check=True)
    p = olrun.run("delete", cid)
    assert p.returncode == 0 and "warning" in p.stderr and "poststop hook" in p.stderr
