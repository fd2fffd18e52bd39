"""Namespaces, new and joined, checked from inside the container."""
import os
import subprocess
import uuid

import pytest

from conftest import wait_for

NS = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup"}


def run_out(olrun, bundle, script, **kw):
    bundle.sh(script)
    p = olrun.run("run", "-b", bundle.path, olrun.new_id(), **kw)
    assert p.returncode == 0, p.stderr
    return p.stdout


def host_ns(name):
    return os.readlink("/proc/self/ns/%s" % name)


def test_new_namespaces_differ_from_host(olrun, bundle):
    out = run_out(olrun, bundle, "for n in %s; do readlink /proc/self/ns/$n; done" % " ".join(NS.values()))
    inside = out.split()
    assert len(inside) == len(NS)
    for name, link in zip(NS.values(), inside):
        assert link != host_ns(name), name


def test_shared_namespace_when_not_listed(olrun, bundle):
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "ipc"]
    out = run_out(olrun, bundle, "readlink /proc/self/ns/ipc")
    assert out.strip() == host_ns("ipc")


def test_pid_namespace_init_is_pid_1(olrun, bundle):
    assert run_out(olrun, bundle, "echo $$").strip() == "1"


def test_hostname_and_domainname(olrun, bundle):
    bundle.config["domainname"] = "example.org"
    out = run_out(olrun, bundle, "hostname; cat /proc/sys/kernel/domainname")
    assert out.split() == ["olrun-test", "example.org"]


@pytest.fixture
def netns():
    name = "olrun-test-%s" % uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    yield "/run/netns/" + name
    subprocess.run(["ip", "netns", "delete", name])


def ns_inode(path):
    return "net:[%d]" % os.stat(path).st_ino


def test_join_network_namespace_by_path(olrun, bundle, netns):
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "network"]
    bundle.linux["namespaces"].append({"type": "network", "path": netns})
    assert run_out(olrun, bundle, "readlink /proc/self/ns/net").strip() == ns_inode(netns)


def test_join_pid_namespace_of_another_container(olrun, bundle, tmp_path):
    bundle.args("sleep", "1000")
    first = olrun.new_id()
    olrun.run("run", "-d", "-b", bundle.path, first, check=True)
    pid = olrun.state(first)["pid"]
    second = tmp_path / "second"
    os.makedirs(second)
    os.symlink(bundle.rootfs, second / "rootfs")
    bundle.path, saved = str(second), bundle.path
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "pid"]
    bundle.linux["namespaces"].append({"type": "pid", "path": "/proc/%d/ns/pid" % pid})
    out = run_out(olrun, bundle, "ps -o comm | grep -c sleep; readlink /proc/self/ns/pid")
    count, link = out.split()
    assert count == "1"
    assert link == os.readlink("/proc/%d/ns/pid" % pid)
    bundle.path = saved
    olrun.run("delete", "-f", first, check=True)


def test_time_namespace_offsets(olrun, bundle):
    bundle.linux["namespaces"].append({"type": "time"})
    bundle.linux["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0},
                                   "monotonic": {"secs": 7200, "nanosecs": 5}}
    out = run_out(olrun, bundle, "cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime")
    lines = out.splitlines()
    assert "monotonic           7200         5" in lines[0] + lines[1] or any(
        l.split()[:3] == ["monotonic", "7200", "5"] for l in lines[:2])
    with open("/proc/uptime") as f:
        host_up = float(f.read().split()[0])
    assert int(lines[2]) >= 86400 * 365 + int(host_up) - 5


def test_time_offsets_need_time_namespace(olrun, bundle):
    bundle.linux["timeOffsets"] = {"boottime": {"secs": 1}}
    bundle.args("true")
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "linux.timeOffsets" in p.stderr


USERNS_MAPS = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
               "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}


def test_user_namespace_mappings(olrun, bundle):
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.linux.update(USERNS_MAPS)
    out = run_out(olrun, bundle, "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox")
    lines = [l.split() for l in out.splitlines()]
    assert lines[0] == ["0", "100000", "65536"]
    assert lines[1] == ["0", "100000", "65536"]
    assert lines[2] == ["0"]
    # The rootfs belongs to host root, which is not mapped: nobody.
    assert lines[3] == ["65534"]


def test_user_namespace_without_mappings_refused(olrun, bundle):
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.args("true")
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "uidMappings" in p.stderr


def test_user_namespace_with_joined_netns_slow_path(olrun, bundle, netns):
    """A joined namespace plus a new user namespace takes the slow path:
    join first, then create the user namespace, then the rest."""
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "network"]
    bundle.linux["namespaces"] += [{"type": "network", "path": netns}, {"type": "user"}]
    bundle.linux.update(USERNS_MAPS)
    out = run_out(olrun, bundle, "readlink /proc/self/ns/net; cat /proc/self/uid_map; echo $$")
    lines = out.splitlines()
    assert lines[0] == ns_inode(netns)
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == "1"


def test_sysctl_in_new_network_namespace(olrun, bundle):
    bundle.linux["sysctl"] = {"net.ipv4.ip_forward": "1", "net/ipv4/tcp_syncookies": "0"}
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_before = f.read()
    out = run_out(olrun, bundle, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/tcp_syncookies")
    assert out.split() == ["1", "0"]
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host_before


def test_sysctl_needs_its_namespace(olrun, bundle):
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "network"]
    bundle.linux["sysctl"] = {"net.ipv4.ip_forward": "1"}
    bundle.args("true")
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "needs a new network namespace" in p.stderr


def test_ipc_sysctl(olrun, bundle):
    bundle.linux["sysctl"] = {"kernel.shmmni": "1234"}
    assert run_out(olrun, bundle, "cat /proc/sys/kernel/shmmni").strip() == "1234"


@pytest.fixture
def veth():
    a, b = "ol%s" % uuid.uuid4().hex[:6], "op%s" % uuid.uuid4().hex[:6]
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
    yield a
    subprocess.run(["ip", "link", "delete", b], capture_output=True)
    subprocess.run(["ip", "link", "delete", a], capture_output=True)


def test_net_devices_moved_and_renamed(olrun, bundle, veth):
    bundle.linux["netDevices"] = {veth: {"name": "ctr0"}}
    out = run_out(olrun, bundle, "ls /sys/class/net | sort | tr '\\n' ' '")
    assert "ctr0" in out.split() and veth not in out.split()


def test_net_devices_unknown_interface(olrun, bundle):
    bundle.linux["netDevices"] = {"nosuchif0": {}}
    bundle.args("true")
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "nosuchif0" in p.stderr


def test_net_devices_need_new_netns(olrun, bundle, veth):
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "network"]
    bundle.linux["netDevices"] = {veth: {}}
    bundle.args("true")
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "netDevices" in p.stderr
