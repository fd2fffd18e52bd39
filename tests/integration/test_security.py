"""Hardening against a hostile container or image: the CVE classes of
runc and crun, each checked by its effect (issue 4).  Every test here was
seen to fail with its protection switched off."""
import errno
import os
import shutil
import stat
import subprocess

import pytest

from conftest import wait_for


def probe_hook(bundle, script):
    """A startContainer hook: it runs in the container after pivot_root,
    while the init still runs olrun's code, with the init's privileges."""
    bundle.config.setdefault("hooks", {})["startContainer"] = [
        {"path": "/bin/sh", "args": ["sh", "-c", script]}]


def exe_writable(path):
    """What a write through a /proc/PID/exe link would meet, ignoring the
    ETXTBSY that only lasts while someone runs the binary."""
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY), os.access(path, os.W_OK)


def test_cve_2019_5736_init_exe_is_readonly(olrun, own_bundle):
    # A process of the container with CAP_SYS_PTRACE (here: a hook, which
    # has the init's capabilities) opens /proc/1/exe while the init still
    # runs olrun: it must hold a binary it cannot write.
    probe_hook(own_bundle, "/bin/testinit exe-probe 1 > /probe 2>&1")
    own_bundle.args("true")
    p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    with open(os.path.join(own_bundle.rootfs, "probe")) as f:
        assert f.read().split("\n")[:2] == ["ro", "writable Read-only file system"]


def copy_loader_and_libs(rootfs, binary):
    """Make a dynamic binary runnable inside a busybox rootfs."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if not path.startswith("/"):
            continue
        dest = os.path.join(rootfs, path.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(path, dest)


def test_cve_2019_5736_exec_of_proc_self_exe(olrun, own_bundle):
    # The image makes the init execve /proc/self/exe: the container's pid 1
    # is then olrun itself, and any process of the container can open its
    # /proc/PID/exe.  That binary must be on a read-only mount.
    copy_loader_and_libs(own_bundle.rootfs, olrun.cmd()[0])
    os.mkfifo(os.path.join(own_bundle.rootfs, "fifo"))
    # `--log /fifo` blocks opening the FIFO: pid 1 stays olrun meanwhile.
    own_bundle.args("/proc/self/exe", "--log", "/fifo", "list")
    cid = olrun.new_id()
    olrun.run("create", "-b", own_bundle.path, cid, check=True)
    pid = olrun.state(cid)["pid"]
    olrun.run("start", cid, check=True)
    exe = "/proc/%d/exe" % pid

    def cmdline():
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read().split("\0")[0]
    assert wait_for(lambda: cmdline() == "/proc/self/exe")
    assert os.stat(exe).st_ino == os.stat(olrun.cmd()[0]).st_ino
    ro, writable = exe_writable(exe)
    olrun.run("delete", "--force", cid, check=True)
    assert ro and not writable


NO_PTRACE = ["setpriv", "--bounding-set", "-sys_ptrace", "--"]


def test_init_not_dumpable_until_exec(olrun, bundle):
    # Without CAP_SYS_PTRACE on either side (so the capability sets are
    # equal and the uid is the same), only dumpability decides whether one
    # process may read another's /proc/PID/exe.  The init, still olrun,
    # must refuse; the container's process, once exec'd, is dumpable again.
    bundle.args("testinit", "dumpable")
    cid = olrun.new_id()
    subprocess.run(NO_PTRACE + olrun.cmd("create", "-b", bundle.path, cid), check=True)
    pid = olrun.state(cid)["pid"]
    probe = subprocess.run(NO_PTRACE + ["readlink", "/proc/%d/exe" % pid], capture_output=True, text=True)
    olrun.run("delete", "--force", cid, check=True)
    assert probe.returncode != 0 and probe.stdout == "", probe.stdout
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout.strip() == "1", p.stdout + p.stderr


@pytest.fixture
def host_dir(tmp_path):
    """A host directory, known by its content, open in the test (not
    close-on-exec when handed to olrun)."""
    d = tmp_path / "host-dir"
    d.mkdir()
    (d / "host-marker").write_text("host\n")
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    yield d, fd
    os.close(fd)


# What a host directory the init could hold shows: the test's own, the
# state dir, the container's cgroup.
HOST_NAMES = {"host-marker", "state.json", "config.json", "cgroup.procs"}


def started_outside(p):
    """The process's cwd and what it saw there, from `testinit cwd`; None
    when olrun refused the cwd."""
    if p.returncode != 0:
        assert "chdir to cwd" in p.stderr or "outside the container" in p.stderr, p.stderr
        return None
    lines = p.stdout.splitlines()
    cwd, entries = lines[0], {l[len("entry "):] for l in lines[1:]}
    return (not cwd.startswith("/") or "unreachable" in cwd or bool(entries & HOST_NAMES)), cwd, entries


def test_cve_2024_21626_cwd_through_leaked_fd(olrun, bundle, host_dir):
    # process.cwd = /proc/self/fd/N for every fd the init could hold when
    # it chdirs: olrun's own (the state dir, the cgroup, sockets, the exe
    # guard) and a host directory the caller leaked to olrun.  Refused, or
    # harmless: the process never starts in a host directory.
    _, fd = host_dir
    bundle.process["args"] = ["testinit", "cwd"]
    for n in sorted(set(range(3, 24)) | {fd}):
        bundle.process["cwd"] = "/proc/self/fd/%d" % n
        bundle.write()
        r = started_outside(olrun.run("run", "-b", bundle.path, olrun.new_id(), pass_fds=(fd,)))
        assert r is None or not r[0], (n, r)


def test_cve_2024_21626_exec_cwd_through_leaked_fd(olrun, bundle, host_dir):
    # The same through `exec --cwd`: the exec'ing olrun holds fds of its
    # own (the state dir, the container's root and cgroup) and whatever its
    # caller leaked when the process chdirs.
    _, fd = host_dir
    bundle.args("sleep", "1000")
    cid = olrun.new_id()
    olrun.run("run", "-d", "-b", bundle.path, cid, check=True)
    try:
        for n in sorted(set(range(3, 24)) | {fd}):
            p = olrun.run("exec", "--cwd", "/proc/self/fd/%d" % n, cid, "testinit", "cwd", pass_fds=(fd,))
            r = started_outside(p)
            assert r is None or not r[0], (n, r)
    finally:
        olrun.run("delete", "--force", cid)


def test_cve_2024_21626_cwd_through_preserved_fd_refused(olrun, bundle, host_dir):
    # A host directory handed over with --preserve-fds stays open (it is the
    # caller's to give), but olrun must not make it the process's cwd.
    path, _ = host_dir
    bundle.process["args"] = ["testinit", "cwd"]
    bundle.process["cwd"] = "/proc/self/fd/3"
    bundle.write()
    p = subprocess.run(["sh", "-c", 'exec "$@" 3<"$HOSTDIR"', "sh"]
                       + olrun.cmd("run", "--preserve-fds", "1", "-b", bundle.path, olrun.new_id()),
                       env=dict(os.environ, HOSTDIR=str(path)), capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "outside the container" in p.stderr, (p.stdout, p.stderr)


def test_cve_2024_21626_no_host_fd_in_container(olrun, bundle, tmp_path):
    # Every fd olrun itself opened (state dir, cgroup, sockets, the exe
    # guard) is gone by execve: only stdio reaches the process, even with a
    # caller that leaks one.
    leak = open(tmp_path / "leak", "w")
    bundle.sh("cd /proc/self/fd && for f in *; do readlink /proc/self/fd/$f || true; done")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id(), pass_fds=(leak.fileno(),))
    leak.close()
    assert p.returncode == 0, p.stderr
    links = p.stdout.splitlines()
    # stdin, stdout, stderr (the harness's temp files), perhaps the
    # directory the shell's glob read.
    assert len(links) <= 4, links
    assert not any(str(tmp_path) in l or "leak" in l or "cgroup" in l or "state" in l for l in links), links


def test_cve_2024_21626_created_init_holds_no_host_fd(olrun, bundle, host_dir):
    # Between create and start the init sits in the container's root and
    # pid namespace.  It must hold no fd of the host by then (the caller's
    # leaked directory, the state dir, the cgroup): only stdio and its
    # sockets, so nothing it resolves, and nothing that reaches into it,
    # can go through /proc/PID/fd/N to the host.
    path, fd = host_dir
    bundle.args("true")
    cid = olrun.new_id()
    olrun.run("create", "-b", bundle.path, cid, check=True, pass_fds=(fd,))
    try:
        pid = olrun.state(cid)["pid"]
        fds = {n: os.readlink("/proc/%d/fd/%s" % (pid, n)) for n in os.listdir("/proc/%d/fd" % pid)}
    finally:
        olrun.run("delete", "--force", cid, check=True)
    extra = {n: l for n, l in fds.items() if int(n) > 2 and not l.startswith(("socket:", "anon_inode:"))}
    assert extra == {}, extra


@pytest.fixture
def victim():
    """A process whose oom_score_adj (a procfs file anyone could mistake
    for another) tells whether a write reached it."""
    p = subprocess.Popen(["sleep", "60"])
    yield p.pid
    p.kill()
    p.wait()


def test_cve_2025_52881_sysctl_write_redirected_by_a_mount(olrun, bundle, victim):
    # A mount namespace the container joins has another procfs file
    # bind-mounted over the sysctl it sets.  Both are procfs, so checking
    # the filesystem is not enough: the write must refuse to cross the
    # mount, and the other file must keep its value.
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         "mount --bind /proc/%d/oom_score_adj /proc/sys/kernel/hostname && echo ready && exec sleep 60" % victim],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        bundle.linux["namespaces"] = [{"type": "mount", "path": "/proc/%d/ns/mnt" % holder.pid},
                                      {"type": "uts"}, {"type": "pid"}]
        # (kernel.hostname: net and ipc sysctls are looked up per
        # namespace, so a mount over the host's entry is not even seen.)
        bundle.linux["sysctl"] = {"kernel.hostname": "1"}
        bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] == "/proc"]
        bundle.linux.pop("maskedPaths")
        bundle.linux.pop("readonlyPaths")
        bundle.args("true")
        p = olrun.run("run", "-b", bundle.path, olrun.new_id())
        with open("/proc/%d/oom_score_adj" % victim) as f:
            assert f.read().strip() == "0"
        assert p.returncode == 1 and "kernel.hostname" in p.stderr, p.stderr
    finally:
        holder.kill()
        holder.wait()


def test_procfs_root_checked(olrun, bundle):
    # In a joined mount namespace where /proc is not procfs at all, the
    # kernel settings are refused, not written into the impostor.
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         "mount -t tmpfs fake /proc && mkdir -p /proc/self && echo 0 > /proc/self/oom_score_adj"
         " && echo ready && exec sleep 60"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        bundle.linux["namespaces"] = [{"type": "mount", "path": "/proc/%d/ns/mnt" % holder.pid}]
        bundle.config["mounts"] = []
        bundle.config.pop("hostname")
        bundle.linux.pop("maskedPaths")
        bundle.linux.pop("readonlyPaths")
        bundle.process["oomScoreAdj"] = 100
        bundle.args("true")
        p = olrun.run("run", "-b", bundle.path, olrun.new_id())
        assert p.returncode == 1 and "/proc is not the root of a procfs" in p.stderr, p.stderr
        with open("/proc/%d/root/proc/self/oom_score_adj" % holder.pid) as f:
            assert f.read().strip() == "0"
    finally:
        holder.kill()
        holder.wait()


def test_cve_2019_16884_lsm_label_never_lands_in_a_proc_volume(olrun, bundle, tmp_path):
    # The image puts a volume of its own at /proc, with a regular file where
    # the AppArmor attr should be.  The label must go to a real procfs (here
    # there is none for it: the kernel has no AppArmor, so the run fails),
    # never into the volume's file, which would leave the process unconfined
    # while olrun believes it confined.  AppArmor is faked "enabled" in
    # /sys/module, for olrun (a private mount namespace) and for the
    # container (its /sys is a directory of the test).
    fakeproc = tmp_path / "fakeproc"
    attr = fakeproc / "thread-self/attr/apparmor/exec"
    attr.parent.mkdir(parents=True)
    attr.write_text("")
    fakesys = tmp_path / "fakesys"
    (fakesys / "module/apparmor/parameters").mkdir(parents=True)
    (fakesys / "module/apparmor/parameters/enabled").write_text("Y\n")
    mounts = [m for m in bundle.config["mounts"] if not m["destination"].startswith(("/proc", "/sys"))]
    bundle.config["mounts"] = mounts + [
        {"destination": "/proc", "type": "bind", "source": str(fakeproc), "options": ["rbind"]},
        {"destination": "/sys", "type": "bind", "source": str(fakesys), "options": ["rbind", "ro"]}]
    bundle.linux.pop("maskedPaths")
    bundle.linux.pop("readonlyPaths")
    bundle.process["apparmorProfile"] = "olrun-test-profile"
    bundle.args("true")
    fake_host = ("mount -t tmpfs none /sys/module && mkdir -p /sys/module/apparmor/parameters"
                 " && echo Y > /sys/module/apparmor/parameters/enabled && exec \"$@\"")
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", fake_host, "sh"]
                       + olrun.cmd("run", "-b", bundle.path, olrun.new_id()),
                       capture_output=True, text=True, timeout=60)
    assert attr.read_text() == "", "the label was written into the image's /proc"
    assert p.returncode != 0 and "apparmorProfile" in p.stderr, p.stdout + p.stderr


def no_tmp_mount(bundle):
    """Without the tmpfs on /tmp, what olrun creates under /tmp in the
    container shows in the rootfs directory."""
    bundle.config["mounts"] = [m for m in bundle.config["mounts"] if m["destination"] != "/tmp"]


def test_cve_2021_30465_mount_target_symlink_stays_in_root(olrun, own_bundle, tmp_path):
    # The image's /evil is an absolute symlink naming a real host directory.
    # The mount must land on that path inside the rootfs, never on the host's.
    host = tmp_path / "host-target"
    host.mkdir()
    src = tmp_path / "volume"
    src.mkdir()
    (src / "inside-marker").write_text("volume\n")
    os.symlink(str(host), os.path.join(own_bundle.rootfs, "evil"))
    no_tmp_mount(own_bundle)
    own_bundle.config["mounts"].append({"destination": "/evil", "type": "bind", "source": str(src),
                                        "options": ["bind"]})
    own_bundle.sh("cat /evil/inside-marker")
    p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout == "volume\n", p.stdout + p.stderr
    # Created inside the rootfs, and nothing on the host.
    assert os.path.isdir(os.path.join(own_bundle.rootfs, str(host).lstrip("/")))
    assert os.listdir(host) == []


def test_cve_2024_45310_targets_created_inside_root(olrun, own_bundle, tmp_path):
    # A missing mount target below a symlink to the host: olrun creates the
    # directories, inside the rootfs, never beside the host's.
    host = tmp_path / "host-dir"
    host.mkdir()
    os.symlink(str(host), os.path.join(own_bundle.rootfs, "link"))
    no_tmp_mount(own_bundle)
    own_bundle.config["mounts"].append({"destination": "/link/a/b", "type": "tmpfs", "source": "tmpfs"})
    own_bundle.config["mounts"].append({"destination": "/link/file", "type": "bind",
                                        "source": "/etc/hostname", "options": ["bind", "ro"]})
    own_bundle.args("true")
    p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert os.listdir(host) == []
    inside = os.path.join(own_bundle.rootfs, str(host).lstrip("/"))
    assert sorted(os.listdir(inside)) == ["a", "file"]


def test_cve_2026_47766_dev_symlinks_not_followed(olrun, own_bundle, tmp_path):
    # The image's own /dev (no tmpfs over it) has its device names as
    # symlinks to host paths: olrun replaces them, never writes through.
    victim = tmp_path / "victim"
    victim.write_text("host file\n")
    dev = os.path.join(own_bundle.rootfs, "dev")
    for name in ("null", "zero", "tty", "mydev"):
        os.symlink(str(victim), os.path.join(dev, name))
    own_bundle.config["mounts"] = [m for m in own_bundle.config["mounts"]
                                   if not m["destination"].startswith("/dev")]
    own_bundle.linux["devices"] = [{"path": "/dev/mydev", "type": "c", "major": 1, "minor": 3,
                                    "fileMode": 0o666}]
    own_bundle.sh("stat -c '%F %t:%T' /dev/null /dev/mydev")
    p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["character special file 1:3"] * 2
    assert victim.read_text() == "host file\n" and stat.S_ISREG(os.lstat(victim).st_mode)


def test_cve_2025_31133_masked_path_symlink(olrun, own_bundle, tmp_path):
    # A masked path that is a symlink in the image: the mask goes on the
    # symlink's target inside the rootfs, never on the host path it names.
    secret = tmp_path / "host-secret"
    secret.write_text("host secret\n")
    os.makedirs(os.path.join(own_bundle.rootfs, str(tmp_path).lstrip("/")), exist_ok=True)
    inside = os.path.join(own_bundle.rootfs, str(secret).lstrip("/"))
    with open(inside, "w") as f:
        f.write("image file\n")
    os.symlink(str(secret), os.path.join(own_bundle.rootfs, "etc/masked"))
    own_bundle.linux["maskedPaths"].append("/etc/masked")
    no_tmp_mount(own_bundle)
    own_bundle.sh("cat /etc/masked; echo rc=$?; stat -c '%t:%T' " + str(secret))
    p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    # Masked with the real /dev/null (empty, 1:3), on the image's file.
    assert p.stdout.splitlines() == ["rc=0", "1:3"], p.stdout
    assert secret.read_text() == "host secret\n"


def test_cve_2025_31133_dev_null_symlink_not_the_mask(olrun, own_bundle, tmp_path):
    # The container's /dev (here bound from a directory, so olrun makes no
    # nodes in it) has `null` as a symlink to a host file.  Masks must be
    # the host's real /dev/null: bound from the container's, they would
    # show that file (or a writable procfs file) at every masked path.
    secret = tmp_path / "host-secret"
    secret.write_text("host secret\n")
    devdir = tmp_path / "devdir"
    devdir.mkdir()
    os.symlink(str(secret), devdir / "null")
    own_bundle.config["mounts"] = [m for m in own_bundle.config["mounts"] if not m["destination"].startswith("/dev")]
    own_bundle.config["mounts"].append({"destination": "/dev", "type": "bind", "source": str(devdir),
                                        "options": ["rbind"]})
    own_bundle.sh("cat /proc/keys; stat -c '%t:%T' /proc/keys")
    p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["1:3"], p.stdout


def test_cve_2025_52565_dev_console_symlink(olrun, own_bundle, tmp_path):
    # The image's own /dev (no tmpfs over it, devpts below) has /dev/console
    # as a symlink to a procfs file that readonlyPaths protects.  The pty must go on
    # /dev/console itself: mounted on the symlink's target, it would
    # replace the read-only file with a writable one.
    from test_terminal import ConsoleSocket
    dev = os.path.join(own_bundle.rootfs, "dev")
    os.symlink("/proc/sys/kernel/core_pattern", os.path.join(dev, "console"))
    own_bundle.config["mounts"] = [m for m in own_bundle.config["mounts"] if m["destination"] != "/dev"]
    own_bundle.process["terminal"] = True
    own_bundle.sh("stat -c '%F %t' /dev/console /proc/sys/kernel/core_pattern > /result 2>&1;"
                  " grep -c ' /proc/sys/kernel/core_pattern ' /proc/self/mountinfo >> /result")
    cs = ConsoleSocket(tmp_path / "console.sock")
    cid = olrun.new_id()
    try:
        p = olrun.run("run", "-d", "--console-socket", cs.path, "-b", own_bundle.path, cid)
        assert p.returncode == 0, p.stderr
        assert wait_for(lambda: olrun.state(cid)["status"] == "stopped")
        olrun.run("delete", cid, check=True)
    finally:
        cs.close()
    with open(os.path.join(own_bundle.rootfs, "result")) as f:
        # /dev/console is the pty (major 136); core_pattern is still the
        # procfs file, with no mount of its own.
        assert f.read().splitlines() == ["character special file 88", "regular empty file 0", "0"]


@pytest.mark.parametrize("name", ["proc", "sys", "dev"])
def test_special_dirs_as_symlinks(olrun, own_bundle, tmp_path, name):
    # /proc, /sys or /dev as a symlink to a host directory: whatever is
    # mounted there lands inside the rootfs.
    host = tmp_path / ("host-" + name)
    host.mkdir()
    path = os.path.join(own_bundle.rootfs, name)
    shutil.rmtree(path)
    os.symlink(str(host), path)
    no_tmp_mount(own_bundle)
    own_bundle.args("true")
    p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
    assert os.listdir(host) == [], p.stderr
    if p.returncode == 0:
        assert os.path.isdir(os.path.join(own_bundle.rootfs, str(host).lstrip("/")))


# Bundle paths: what the bundle names is checked before olrun uses it.

def test_relative_bind_source_stays_in_bundle(olrun, own_bundle, tmp_path):
    # A relative source names something in the bundle, whose rootfs holds
    # whatever the image put there: symlinks out of it, or `..`, must not
    # make olrun bind a host file the config never named.
    secret = tmp_path / "host-secret"
    secret.write_text("host secret\n")
    etc = os.path.join(own_bundle.rootfs, "etc")
    os.symlink(str(secret), os.path.join(etc, "abs-link"))
    os.symlink("../../../host-secret", os.path.join(etc, "rel-link"))
    own_bundle.sh("cat /tmp/x")
    base = list(own_bundle.config["mounts"])
    for source in ("rootfs/etc/abs-link", "rootfs/etc/rel-link", "../host-secret", "rootfs/../../host-secret"):
        own_bundle.config["mounts"] = base + [{"destination": "/tmp/x", "type": "bind", "source": source,
                                               "options": ["bind"]}]
        own_bundle.write()
        p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
        assert p.returncode == 1 and "leads out of the bundle" in p.stderr, (source, p.stdout, p.stderr)
    # Inside the bundle, a relative source still works.
    own_bundle.config["mounts"] = base + [{"destination": "/tmp/x", "type": "bind", "source": "rootfs/etc/group",
                                           "options": ["bind"]}]
    own_bundle.write()
    p = olrun.run("run", "-b", own_bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout.startswith("root:x:0:"), p.stdout + p.stderr


def test_device_bound_from_host_must_be_that_device(olrun, bundle, tmp_path):
    # In a user namespace mknod is refused and the host's node at the
    # device's path is bound instead.  That path comes from the bundle: a
    # host file there is not the device the config describes, and must not
    # be bound into the container.
    from conftest import traversable
    secret = tmp_path / "host-secret"
    secret.write_text("host secret\n")
    traversable(str(tmp_path))
    bundle.linux["namespaces"].append({"type": "user"})
    bundle.linux.update({"uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                         "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]})
    bundle.linux["devices"] = [{"path": str(secret), "type": "c", "major": 1, "minor": 3}]
    bundle.sh("cat %s" % secret)
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert "host secret" not in p.stdout
    assert p.returncode == 1 and "is not the character device 1:3" in p.stderr, p.stdout + p.stderr
    # A real device at its path is bound as before.
    bundle.linux["devices"] = [{"path": "/dev/full", "type": "c", "major": 1, "minor": 7}]
    bundle.sh("stat -c '%t:%T' /dev/full")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 0 and p.stdout == "1:7\n", p.stdout + p.stderr


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer", "poststart", "poststop"])
@pytest.mark.parametrize("name,why", [("missing", "No such file"), ("dir", "not an executable file"),
                                      ("data", "not an executable file")])
def test_hook_paths_checked_before_create(olrun, bundle, tmp_path, kind, name, why):
    # A hook the runtime runs on the host is checked before anything is
    # created: nothing to roll back, and the error names the hook.
    (tmp_path / "dir").mkdir()
    (tmp_path / "data").write_text("not a program\n")
    os.chmod(tmp_path / "data", 0o644)
    path = str(tmp_path / name)
    bundle.config["hooks"] = {kind: [{"path": path}]}
    bundle.args("true")
    cid = olrun.new_id()
    p = olrun.run("create", "-b", bundle.path, cid)
    assert p.returncode == 1, p.stderr
    assert "hooks.%s[0].path `%s`: " % (kind, path) in p.stderr and why in p.stderr, p.stderr
