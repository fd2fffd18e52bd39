"""cgroup v2 on the host: placement, pause/resume, kill --all, the device
program, update/events/ps, and the errors for what this host lacks.

olrun runs in a private mount namespace where cgroup2 is mounted at
/sys/fs/cgroup (the pure v2 view); the v1 hierarchies are out of sight
there and never touched.  It is the same hierarchy as the host's
/sys/fs/cgroup/unified, where the tests read the effects.  The limits
themselves (memory, pids, cpu, io) need controllers this host does not
delegate: the VM tier (make check-vm) proves them."""
import json
import os
import subprocess
import time
import uuid

import pytest

from conftest import CGROUP2, Olrun, wait_for

PRIVATE_V2 = 'mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup && exec "$0" "$@"'


class PrivateV2Olrun(Olrun):
    """olrun inside `unshare -m` with cgroup2 mounted on /sys/fs/cgroup."""

    def cmd(self, *args, root=True):
        return ["unshare", "-m", "sh", "-c", PRIVATE_V2] + super().cmd(*args, root=root)


@pytest.fixture
def v2(olrun):
    """The `olrun` fixture, leftovers check included, in the private v2 view."""
    olrun.__class__ = PrivateV2Olrun
    return olrun


def cg(cid, *parts):
    return os.path.join(CGROUP2, "olrun", cid, *parts)


def read(path):
    with open(path) as f:
        return f.read()


def events(cid):
    return dict(line.split() for line in read(cg(cid, "cgroup.events")).splitlines())


def available(ctrl):
    return ctrl in read(os.path.join(CGROUP2, "cgroup.controllers")).split()


def devices_bundle(bundle, script):
    """CAP_MKNOD, and a /tmp without nodev, so only the device program
    stands between the container and a node it makes."""
    for k in ("bounding", "effective", "permitted"):
        bundle.process["capabilities"][k].append("CAP_MKNOD")
    for m in bundle.config["mounts"]:
        if m["destination"] == "/tmp":
            m["options"] = ["nosuid"]
    return bundle.sh(script)


def test_placement_default_path(v2, bundle):
    cid = v2.new_id()
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "cgroup"]
    bundle.sh("cat /proc/self/cgroup")
    p = v2.run("run", "-b", bundle.path, cid)
    assert p.returncode == 0, p.stderr
    # Born in <own cgroup>/olrun/<id>: our own is the root in this view.
    assert "0::/olrun/%s\n" % cid in p.stdout
    assert not os.path.exists(cg(cid))


def test_placement_absolute_and_relative(v2, bundle):
    top = "olrun-it-%s" % uuid.uuid4().hex[:8]
    try:
        for path, want in (("/%s/abs" % top, "/%s/abs" % top), ("%s/rel" % top, "/%s/rel" % top)):
            cid = v2.new_id()
            bundle.linux["cgroupsPath"] = path
            bundle.args("sleep", "100")
            v2.run("run", "-d", "-b", bundle.path, cid, check=True)
            pid = v2.state(cid)["pid"]
            assert str(pid) in read(os.path.join(CGROUP2, want.lstrip("/"), "cgroup.procs")).split()
            v2.run("delete", "--force", cid, check=True)
            assert not os.path.exists(os.path.join(CGROUP2, want.lstrip("/")))
    finally:
        subprocess.run(["rmdir", os.path.join(CGROUP2, top)], capture_output=True)


def test_pause_resume(v2, bundle, tmp_path):
    """A frozen container makes no progress; resumed, it does again."""
    cid = v2.new_id()
    out = tmp_path / "out"
    out.mkdir()
    bundle.config["mounts"].append({"destination": "/out", "type": "bind", "source": str(out),
                                    "options": ["rbind", "rw"]})
    os.makedirs(os.path.join(bundle.rootfs, "out"), exist_ok=True)
    bundle.sh("i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.02; done")
    v2.run("run", "-d", "-b", bundle.path, cid, check=True)
    counter = out / "n"
    assert wait_for(lambda: counter.exists() and counter.read_text().strip() not in ("", "1"))
    v2.run("pause", cid, check=True)
    assert events(cid)["frozen"] == "1"
    assert v2.state(cid)["status"] == "paused"
    frozen_at = counter.read_text()
    time.sleep(0.3)  # a running loop would have written ~15 times by now
    assert counter.read_text() == frozen_at
    p = v2.run("pause", cid)
    assert p.returncode == 1 and "already paused" in p.stderr
    v2.run("resume", cid, check=True)
    assert events(cid)["frozen"] == "0"
    assert v2.state(cid)["status"] == "running"
    assert wait_for(lambda: counter.read_text() != frozen_at)
    p = v2.run("resume", cid)
    assert p.returncode == 1 and "not paused" in p.stderr
    v2.run("delete", "--force", cid, check=True)


def test_pause_stopped_container(v2, bundle):
    cid = v2.new_id()
    bundle.args("true")
    v2.run("run", "--keep", "-b", bundle.path, cid, check=True)
    p = v2.run("pause", cid)
    assert p.returncode == 1 and "container not running" in p.stderr
    v2.run("delete", cid, check=True)


def test_kill_all_and_ps(v2, bundle):
    cid = v2.new_id()
    bundle.sh("sleep 100 & sleep 100 & sleep 100")
    v2.run("run", "-d", "-b", bundle.path, cid, check=True)
    procs = lambda: sorted(int(x) for x in read(cg(cid, "cgroup.procs")).split())
    assert wait_for(lambda: len(procs()) == 3)
    assert json.loads(v2.run("ps", "--format", "json", cid, check=True).stdout) == procs()
    table = v2.run("ps", cid, check=True).stdout.splitlines()
    assert "PID" in table[0].split() and len(table) == 4 and all("sleep" in l for l in table[1:])
    v2.run("kill", "--all", cid, "KILL", check=True)
    assert wait_for(lambda: events(cid)["populated"] == "0")
    v2.run("delete", cid, check=True)


def test_delete_force_with_nested_cgroup(v2, bundle):
    """A container that made its own child cgroup (it has a cgroup
    namespace) still gets everything removed."""
    cid = v2.new_id()
    bundle.config["mounts"] = [m if m["destination"] != "/sys/fs/cgroup" else dict(m, options=["rw"])
                               for m in bundle.config["mounts"]]
    bundle.sh("mkdir /sys/fs/cgroup/sub && echo $$ > /sys/fs/cgroup/sub/cgroup.procs && sleep 100")
    v2.run("run", "-d", "-b", bundle.path, cid, check=True)
    assert wait_for(lambda: os.path.exists(cg(cid, "sub")) and read(cg(cid, "sub", "cgroup.procs")).strip())
    v2.run("delete", "--force", cid, check=True)
    assert not os.path.exists(cg(cid))


def test_devices_default_program(v2, bundle):
    cid = v2.new_id()
    devices_bundle(bundle, "mknod /tmp/mem c 1 1 && echo mknod-ok; head -c 1 /tmp/mem; "
                           "head -c 1 /dev/zero > /dev/null && echo zero-ok")
    p = v2.run("run", "-b", bundle.path, cid)
    # mknod is allowed (runc's default), opening a node outside the
    # allow-list is not; the standard devices are.
    assert "mknod-ok" in p.stdout and "zero-ok" in p.stdout
    assert "head: /tmp/mem: Operation not permitted" in p.stderr


def test_devices_deny_all_and_linux_devices(v2, bundle):
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this host")
    cid = v2.new_id()
    bundle.linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    bundle.linux["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]
    devices_bundle(bundle, "mknod /tmp/mem c 1 1; echo mknod=$?; echo x > /dev/null && echo null-ok; "
                           "exec 3<>/dev/fuse && echo fuse-ok")
    p = v2.run("run", "-b", bundle.path, cid)
    assert "mknod=1" in p.stdout                          # deny-all: no mknod
    assert "mknod: /tmp/mem: Operation not permitted" in p.stderr
    assert "null-ok" in p.stdout                          # runc's defaults survive
    assert "fuse-ok" in p.stdout                          # linux.devices are allowed


def test_events_stats(v2, bundle):
    cid = v2.new_id()
    bundle.args("sleep", "100")
    v2.run("run", "-d", "-b", bundle.path, cid, check=True)
    ev = json.loads(v2.run("events", "--stats", cid, check=True).stdout)
    assert ev["type"] == "stats" and ev["id"] == cid
    assert ev["data"]["cpu"]["usage"]["total"] > 0
    if available("hugetlb"):
        assert "usage" in ev["data"]["hugetlb"]["2MB"]
    v2.run("delete", "--force", cid, check=True)
    p = v2.run("events", "--stats", cid)
    assert p.returncode == 1 and "does not exist" in p.stderr


def test_update_and_missing_controller(v2, bundle, tmp_path):
    cid = v2.new_id()
    bundle.args("sleep", "100")
    v2.run("run", "-d", "-b", bundle.path, cid, check=True)
    if not available("pids"):
        p = v2.run("update", "--pids-limit", "10", cid)
        assert p.returncode == 1
        assert "controller `pids` is not available" in p.stderr and "pids.limit" in p.stderr
    if available("hugetlb"):
        v2.run("update", "--resources", "-", cid, check=True,
               input='{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}')
        assert read(cg(cid, "hugetlb.2MB.max")).strip() == "4194304"
        saved = json.loads(read(os.path.join(v2.root, cid, "resources.json")))
        assert saved["hugepageLimits"] == [{"pageSize": "2MB", "limit": 4194304}]
    p = v2.run("update", "--cpu-rt-runtime", "1000", cid)
    assert p.returncode == 1 and "realtime" in p.stderr
    p = v2.run("update", "--memory", "12parsecs", cid)
    assert p.returncode == 1 and "--memory" in p.stderr
    v2.run("delete", "--force", cid, check=True)


@pytest.mark.parametrize("resources,words", [
    ({"memory": {"limit": -5}}, "linux.resources.memory.limit: a negative limit"),
    ({"cpu": {"shares": 1}}, "linux.resources.cpu.shares: out of range"),
    ({"memory": {"disableOOMKiller": True}}, "memory.disableOOMKiller: the OOM killer cannot be disabled"),
    ({"cpu": {"realtimeRuntime": 1000}}, "realtime CPU budgets do not exist on cgroup v2"),
    ({"unified": {"../x": "1"}}, "outside the container's cgroup"),
    ({"devices": [{"allow": True, "type": "z"}]}, "linux.resources.devices[0].type: bad device type"),
])
def test_bad_resources(v2, bundle, resources, words):
    cid = v2.new_id()
    bundle.linux["resources"] = resources
    p = v2.run("run", "-b", bundle.write().path, cid)
    assert p.returncode == 1 and words in p.stderr and "config.json" in p.stderr and "(byte " in p.stderr


def test_limit_needs_missing_controller(v2, bundle):
    if available("memory"):
        pytest.skip("this host delegates the memory controller")
    cid = v2.new_id()
    bundle.linux["resources"] = {"memory": {"limit": 67108864}}
    p = v2.run("run", "-b", bundle.write().path, cid)
    assert p.returncode == 1
    assert "controller `memory` is not available" in p.stderr and "memory.limit" in p.stderr
    # An unlimited value needs no controller.
    cid = v2.new_id()
    bundle.linux["resources"] = {"memory": {"limit": -1}, "pids": {"limit": 0}}
    assert v2.run("run", "-b", bundle.write().path, cid).returncode == 0


def test_cgroups_path_dotdot(v2, bundle):
    cid = v2.new_id()
    bundle.linux["cgroupsPath"] = "/olrun/../../escape"
    p = v2.run("run", "-b", bundle.write().path, cid)
    assert p.returncode == 1 and "`..` is not allowed" in p.stderr
    assert not os.path.exists(os.path.join(CGROUP2, "escape"))


def test_systemd_manager_without_systemd(v2, bundle):
    if os.path.exists("/run/systemd/system"):
        pytest.skip("systemd runs here")
    cid = v2.new_id()
    bundle.args("true")
    p = v2.run("--cgroup-manager", "systemd", "run", "-b", bundle.path, cid)
    assert p.returncode == 1 and "needs a running systemd" in p.stderr


def test_olrun_does_not_link_libsystemd():
    from conftest import OLRUN
    out = subprocess.run(["readelf", "-d", OLRUN], capture_output=True, text=True).stdout
    assert "libsystemd" not in out


def test_events_stream_ends_with_the_container(v2, bundle, tmp_path):
    cid = v2.new_id()
    bundle.args("sleep", "100")
    v2.run("run", "-d", "-b", bundle.path, cid, check=True)
    out = open(tmp_path / "events", "w+")
    stream = subprocess.Popen(v2.cmd("events", "--interval", "50ms", cid), stdout=out, stderr=subprocess.PIPE,
                              text=True)
    try:
        lines = lambda: [json.loads(l) for l in open(tmp_path / "events").read().splitlines() if l.endswith("}")]
        assert wait_for(lambda: len(lines()) >= 2)
        assert all(e["type"] == "stats" and e["id"] == cid for e in lines())
        v2.run("kill", cid, "KILL", check=True)
        assert stream.wait(timeout=10) == 0, stream.stderr.read()
    finally:
        if stream.poll() is None:
            stream.kill()
        out.close()
    v2.run("delete", cid, check=True)
