"""Idmapped mounts (runtime-spec 1.2: the idmap and ridmap options,
mounts[].uidMappings and gidMappings), checked from inside the container
and on the host after it wrote (issue 4).

The volume is a host directory on the test's filesystem (ext4 here), owned
by uid/gid 1000 as a user's home would be."""
import os
import subprocess

import pytest

from conftest import OLRUN

USERNS = {"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
          "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}


def maps(container, host, size=1):
    return {"uidMappings": [{"containerID": container, "hostID": host, "size": size}],
            "gidMappings": [{"containerID": container, "hostID": host + 500, "size": size}]}


@pytest.fixture
def volume(tmp_path):
    vol = tmp_path / "volume"
    vol.mkdir()
    (vol / "f").write_text("data\n")
    sub = vol / "sub"
    sub.mkdir()
    for p in (vol, vol / "f", sub):
        os.chown(p, 1000, 1000)
    return vol


def owner(path):
    st = os.stat(path)
    return "%d:%d" % (st.st_uid, st.st_gid)


def add_volume(bundle, source, options, **extra):
    m = {"destination": "/tmp/vol", "type": "bind", "source": str(source), "options": options}
    m.update(extra)
    bundle.config["mounts"].append(m)


def with_userns(bundle):
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.linux.update(USERNS)


def test_own_mappings_without_user_namespace(olrun, bundle, volume):
    # On-disk 1000 shows as 2000 (gid 2500) through the mount; what the
    # container's uid 2000 creates lands on disk as 1000.
    add_volume(bundle, volume, ["bind"], **maps(1000, 2000))
    bundle.process["user"] = {"uid": 2000, "gid": 2500}
    bundle.sh("stat -c %u:%g /tmp/vol /tmp/vol/f && touch /tmp/vol/new && stat -c %u:%g /tmp/vol/new")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["2000:2500"] * 3
    assert owner(volume / "new") == "1000:1000"


def test_container_mapping_with_idmap_option(olrun, bundle, volume):
    # idmap without maps takes the container's (0 -> 100000): on-disk ids
    # show unshifted inside, and the container's root writes files owned
    # by 0 on disk, not by 100000.
    with_userns(bundle)
    add_volume(bundle, volume, ["bind", "idmap"])
    os.chown(volume, 0, 0)
    bundle.sh("stat -c %u:%g /tmp/vol /tmp/vol/f && touch /tmp/vol/new && stat -c %u:%g /tmp/vol/new")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0:0", "1000:1000", "0:0"]
    assert owner(volume / "new") == "0:0"


def test_plain_bind_in_user_namespace_for_contrast(olrun, bundle, volume):
    # The same volume without idmap: host ids the container's map lacks
    # show as nobody, and its root cannot write there.
    with_userns(bundle)
    add_volume(bundle, volume, ["bind"])
    bundle.sh("stat -c %u:%g /tmp/vol/f; touch /tmp/vol/new || echo refused")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.stdout.split() == ["65534:65534", "refused"], p.stdout + p.stderr
    assert not (volume / "new").exists()


def test_own_mappings_in_user_namespace(olrun, bundle, volume):
    # The mount's own maps win over the container's: on-disk 1000 is the
    # container's root (host 100000) through this mount.
    with_userns(bundle)
    add_volume(bundle, volume, ["bind"], **maps(1000, 100000))
    bundle.config["mounts"][-1]["gidMappings"][0]["hostID"] = 100000
    bundle.sh("stat -c %u:%g /tmp/vol/f && touch /tmp/vol/new && stat -c %u:%g /tmp/vol/new")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0:0", "0:0"]
    assert owner(volume / "new") == "1000:1000"


def test_joined_user_namespace_gives_the_mapping(olrun, bundle, volume):
    # idmap in a joined user namespace takes that namespace's mapping.
    holder = subprocess.Popen(["unshare", "--user", "sh", "-c", "echo ready; exec sleep 60"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        for f in ("uid_map", "gid_map"):
            with open("/proc/%d/%s" % (holder.pid, f), "w") as fh:
                fh.write("0 200000 65536\n")
        bundle.linux["namespaces"].append({"type": "user", "path": "/proc/%d/ns/user" % holder.pid})
        add_volume(bundle, volume, ["bind", "idmap"])
        bundle.sh("cat /proc/self/uid_map; stat -c %u:%g /tmp/vol/f")
        p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    finally:
        holder.kill()
        holder.wait()
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["0", "200000", "65536"]
    assert lines[1] == "1000:1000"


@pytest.mark.parametrize("option,sub_owner", [("ridmap", "2000:2500"), ("idmap", "1000:1000")])
def test_ridmap_maps_submounts_idmap_only_the_top(olrun, bundle, volume, tmp_path, option, sub_owner):
    # The volume has a mount below it (a bind of another directory owned
    # by 1000, made in a private mount namespace).  With rbind both come
    # along; ridmap maps both, idmap only the top one.  ro applies as well.
    other = tmp_path / "other"
    other.mkdir()
    os.chown(other, 1000, 1000)
    add_volume(bundle, volume, ["rbind", option, "ro"], **maps(1000, 2000))
    bundle.sh("stat -c %u:%g /tmp/vol /tmp/vol/sub; grep ' /tmp/vol ' /proc/self/mountinfo | cut -d' ' -f6")
    cid = olrun.new_id()
    script = 'mount --bind "$1" "$2" && exec "$3" --root "$4" run -b "$5" "$6"'
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(other),
                        str(volume / "sub"), OLRUN, olrun.root, bundle.path, cid],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # The other options apply as to any bind mount.
    assert p.stdout.split() == ["2000:2500", sub_owner, "ro,relatime,idmapped"]


def test_filesystem_without_idmap_support_refused(olrun, bundle):
    # sysfs cannot be idmapped: refused, naming the filesystem and the mount.
    bundle.config["mounts"].append({"destination": "/tmp/vol", "type": "bind", "source": "/sys",
                                    "options": ["rbind"], **maps(0, 2000)})
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1, p.stderr
    assert "sysfs filesystem" in p.stderr and "/tmp/vol" in p.stderr and "idmapped" in p.stderr, p.stderr


@pytest.mark.parametrize("mount,userns,words", [
    ({"type": "tmpfs", "source": "tmpfs", "options": ["idmap"]}, True, "only supported for bind mounts"),
    ({"type": "bind", "options": ["bind"],
      "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}, False, "must be given together"),
    ({"type": "bind", "options": ["bind", "idmap"]}, False, "there is none"),
])
def test_invalid_idmapped_mounts_refused(olrun, bundle, volume, mount, userns, words):
    if userns:
        with_userns(bundle)
    mount = dict(mount, destination="/tmp/vol")
    if mount["type"] == "bind":
        mount["source"] = str(volume)
    bundle.config["mounts"].append(mount)
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and words in p.stderr and "mounts[" in p.stderr, p.stderr
