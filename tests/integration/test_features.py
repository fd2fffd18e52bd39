"""`features` against the code: everything it lists works in a container
on this host, and what the runtime-spec names but it does not list is
refused.  Engines trust this document (containerd and CRI-O enable user
namespaces or idmapped mounts on its word), so both directions matter."""
import json
import os
import socket
import threading

import pytest

# The runtime-spec's names (features.md, features-linux.md, config-linux.md).
SPEC_MOUNT_OPTIONS = [
    "acl", "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime",
    "loud", "mand", "noacl", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand",
    "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "ratime", "rbind", "rdev", "rdiratime",
    "relatime", "remount", "rexec", "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnorelatime",
    "rnostrictatime", "rnosuid", "rnosymfollow", "ro", "rprivate", "rrelatime", "rro", "rrw", "rshared",
    "rslave", "rstrictatime", "rsuid", "rsymfollow", "runbindable", "rw", "shared", "silent", "slave",
    "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable", "idmap", "ridmap",
]
SPEC_NAMESPACES = ["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"]
PROC_NS = {"mount": "mnt", "network": "net"}
SPEC_SECCOMP_ACTIONS = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                        "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"]
SPEC_SECCOMP_OPS = ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]
SPEC_SECCOMP_ARCHS = ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
                      "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
                      "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
                      "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64"]
# Every name libcap knows, in number order (the kernel may lack the last ones).
MPOL_NUMBERS = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3, "MPOL_LOCAL": 4,
                "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
CAP_NAMES = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
             "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
             "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
             "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
             "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
             "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
             "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
             "CAP_CHECKPOINT_RESTORE"]


@pytest.fixture
def features(olrun):
    p = olrun.run("features", check=True)
    return json.loads(p.stdout)


def run(olrun, bundle, *extra):
    cid = olrun.new_id()
    return olrun.run("run", *extra, "-b", bundle.path, cid)


def test_document(olrun, bundle, features):
    assert features["ociVersionMin"] == "1.0.0"
    assert features["ociVersionMax"] == "1.3.0"
    # Both ends are accepted as a config's ociVersion.
    for v in (features["ociVersionMin"], features["ociVersionMax"]):
        bundle.config["ociVersion"] = v
        bundle.args("true")
        assert run(olrun, bundle).returncode == 0, v
    # No checkpoint support is claimed, and none exists.
    assert features["annotations"]["org.olrun.checkpoint.enabled"] == "false"
    assert features["annotations"]["io.github.seccomp.libseccomp.version"].count(".") == 2
    lin = features["linux"]
    # Labels are claimed where the LSM runs (they are refused elsewhere).
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            apparmor = f.read(1) == "Y"
    except OSError:
        apparmor = False
    assert lin["apparmor"] == {"enabled": apparmor}
    assert lin["selinux"] == {"enabled": os.path.isdir("/sys/fs/selinux/booleans")}
    assert lin["intelRdt"] == {"enabled": False}
    # Root here, on a kernel with MOUNT_ATTR_IDMAP: test_listed_mount_options_work
    # mounts both idmap options.
    assert lin["mountExtensions"] == {"idmap": {"enabled": True}}
    assert lin["netDevices"] == {"enabled": True}
    if not apparmor:
        bundle.process["apparmorProfile"] = "unconfined"
        bundle.args("true")
        p = run(olrun, bundle)
        assert p.returncode != 0 and "AppArmor is not enabled" in p.stderr


def test_listed_hooks_run(olrun, bundle, features, tmp_path):
    hooks = {}
    for name in features["hooks"]:
        # startContainer runs in the container, after pivot_root: it leaves
        # its mark there, for the process to see.
        where = "/tmp" if name == "startContainer" else str(tmp_path)
        hooks[name] = [{"path": "/bin/sh", "args": ["sh", "-c", "touch %s/%s" % (where, name)]}]
    bundle.config["hooks"] = hooks
    bundle.sh("test -e /tmp/startContainer && echo started")
    p = run(olrun, bundle)
    assert p.returncode == 0 and p.stdout == "started\n", p.stderr
    marks = set(os.listdir(tmp_path)) - {"bundle", "state"}
    assert marks == set(features["hooks"]) - {"startContainer"}
    assert set(features["hooks"]) == {"prestart", "createRuntime", "createContainer", "startContainer",
                                      "poststart", "poststop"}


def test_listed_namespaces_are_new(olrun, bundle, features):
    names = features["linux"]["namespaces"]
    assert set(names) == set(SPEC_NAMESPACES)  # this kernel has them all
    bundle.linux["namespaces"] = [{"type": n} for n in names]
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    procs = [PROC_NS.get(n, n) for n in names]
    bundle.sh("; ".join("readlink /proc/self/ns/%s" % p for p in procs))
    p = run(olrun, bundle)
    assert p.returncode == 0, p.stderr
    inside = p.stdout.split()
    host = [os.readlink("/proc/self/ns/%s" % p) for p in procs]
    assert len(inside) == len(host) and all(a != b for a, b in zip(inside, host)), (inside, host)
    bundle.linux["namespaces"] = [{"type": "nonsense"}]
    bundle.write()
    assert "nonsense" in run(olrun, bundle).stderr


def cap_mask(names):
    return sum(1 << CAP_NAMES.index(n) for n in names)


def test_listed_capabilities_are_granted(olrun, bundle, features):
    listed = features["linux"]["capabilities"]
    assert listed and all(n in CAP_NAMES for n in listed)
    bundle.process["capabilities"] = {k: listed for k in
                                      ("bounding", "effective", "permitted", "inheritable", "ambient")}
    bundle.process["noNewPrivileges"] = False
    bundle.sh("grep ^Cap /proc/self/status")
    p = run(olrun, bundle)
    assert p.returncode == 0, p.stderr
    got = {l.split(":")[0]: int(l.split()[1], 16) for l in p.stdout.splitlines()}
    assert set(got.values()) == {cap_mask(listed)}, got
    # Known names that are not listed cannot be granted here.
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for name in CAP_NAMES[:last + 1]:
        if name in listed:
            continue
        bundle.process["capabilities"] = {k: [name] for k in ("bounding", "effective", "permitted")}
        bundle.args("true")
        assert run(olrun, bundle).returncode != 0, name


def mountinfo_of(out, dest):
    for line in out.splitlines():
        f = line.split()
        if f[4] == dest:
            sep = f.index("-")
            return set(f[5].split(",")), f[6:sep], set(f[sep + 3].split(","))
    return None


def test_listed_mount_options_work(olrun, own_bundle, features, tmp_path):
    listed = features["mountOptions"]
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_text("from the host\n")
    own_bundle.config["mounts"] = [m for m in own_bundle.config["mounts"] if m["destination"] != "/tmp"]
    mounts = own_bundle.config["mounts"]
    for o in listed:
        if o in ("bind", "rbind"):
            mounts.append({"destination": "/m/" + o, "type": "bind", "source": str(src), "options": [o]})
        elif o in ("idmap", "ridmap"):
            # Without a user namespace the mapping is the mount's own.
            mounts.append({"destination": "/m/" + o, "type": "bind", "source": str(src), "options": ["rbind", o],
                           "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                           "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]})
        elif o == "tmpcopyup":
            mounts.append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": [o]})
        elif o == "remount":
            mounts.append({"destination": "/m/" + o, "type": "tmpfs", "source": "tmpfs"})
            mounts.append({"destination": "/m/" + o, "type": "tmpfs", "source": "tmpfs", "options": [o, "ro"]})
        else:
            mounts.append({"destination": "/m/" + o, "type": "tmpfs", "source": "tmpfs", "options": [o]})
    own_bundle.sh("cat /proc/self/mountinfo; echo ==; cat /m/bind/file /etc/passwd")
    p = run(olrun, own_bundle)
    assert p.returncode == 0, p.stderr
    info, rest = p.stdout.split("==\n")
    for o in listed:
        assert mountinfo_of(info, "/etc" if o == "tmpcopyup" else "/m/" + o), o
    # The effects, where mountinfo shows them.
    expect_mount = {"ro": "ro", "rro": "ro", "remount": "ro", "nosuid": "nosuid", "rnosuid": "nosuid",
                    "nodev": "nodev", "rnodev": "nodev", "noexec": "noexec", "rnoexec": "noexec",
                    "noatime": "noatime", "rnoatime": "noatime", "nodiratime": "nodiratime",
                    "rnodiratime": "nodiratime", "nosymfollow": "nosymfollow", "rnosymfollow": "nosymfollow",
                    "relatime": "relatime", "rw": "rw", "rrw": "rw", "idmap": "idmapped", "ridmap": "idmapped"}
    for o, flag in expect_mount.items():
        if o in listed:
            assert flag in mountinfo_of(info, "/m/" + o)[0], o
    for o in ("strictatime", "rstrictatime"):
        assert not {"relatime", "noatime"} & mountinfo_of(info, "/m/" + o)[0], o
    for o, flag in {"sync": "sync", "dirsync": "dirsync", "lazytime": "lazytime"}.items():
        assert flag in mountinfo_of(info, "/m/" + o)[2], o
    for o in ("shared", "rshared"):
        assert any(t.startswith("shared:") for t in mountinfo_of(info, "/m/" + o)[1]), o
    for o in ("unbindable", "runbindable"):
        assert "unbindable" in mountinfo_of(info, "/m/" + o)[1], o
    assert rest.startswith("from the host\nroot:x:0:0"), rest


def test_unlisted_mount_options_are_refused(olrun, bundle, features, tmp_path):
    """On a bind mount every option must be known (filesystem data cannot
    apply), so the parser's vocabulary shows there."""
    listed = set(features["mountOptions"])
    assert listed <= set(SPEC_MOUNT_OPTIONS)
    accepted_unlisted = []
    for o in SPEC_MOUNT_OPTIONS:
        if o in listed:
            continue
        bundle.config["mounts"] = [{"destination": "/mnt", "type": "bind", "source": str(tmp_path),
                                    "options": ["bind", o]}]
        bundle.args("true")
        p = run(olrun, bundle)
        if p.returncode == 0:
            accepted_unlisted.append(o)
        else:
            assert "unknown mount option `%s`" % o in p.stderr or o in p.stderr, (o, p.stderr)
    assert accepted_unlisted == [], accepted_unlisted


class Listener:
    """An agent socket for SCMP_ACT_NOTIFY: takes the listener fd and holds it."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.fds = []
        self.state = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        conn, _ = self.sock.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
        self.state = json.loads(msg)
        self.fds = fds
        conn.close()

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.sock.close()


def test_listed_seccomp_works(olrun, bundle, features, tmp_path):
    sc = features["linux"]["seccomp"]
    assert sc["enabled"] and sorted(sc["actions"]) == sorted(SPEC_SECCOMP_ACTIONS)
    assert sorted(sc["operators"]) == sorted(SPEC_SECCOMP_OPS)
    assert set(sc["supportedFlags"]) <= set(sc["knownFlags"])
    assert "SCMP_ARCH_X86_64" in sc["archs"] or os.uname().machine != "x86_64"
    # One profile with every action, operator, architecture and flag, each
    # on a syscall busybox's sh and mkdir never make, but mkdir's own.
    unused = {"SCMP_ACT_KILL": "acct", "SCMP_ACT_KILL_PROCESS": "swapon", "SCMP_ACT_KILL_THREAD": "swapoff",
              "SCMP_ACT_TRAP": "reboot", "SCMP_ACT_TRACE": "kexec_load", "SCMP_ACT_LOG": "getppid",
              "SCMP_ACT_ALLOW": "getpid", "SCMP_ACT_NOTIFY": "init_module", "SCMP_ACT_ERRNO": "mkdir"}
    rules = [{"names": [unused[a]] + (["mkdirat"] if a == "SCMP_ACT_ERRNO" else []), "action": a}
             for a in sc["actions"] if a != "SCMP_ACT_ALLOW"]
    for i, op in enumerate(sc["operators"]):
        rules.append({"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 1000 + i, "valueTwo": 1000 + i, "op": op}]})
    listener = Listener(tmp_path / "agent.sock")
    try:
        bundle.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": sc["archs"],
                                   "flags": sc["supportedFlags"], "listenerPath": str(tmp_path / "agent.sock"),
                                   "syscalls": rules}
        bundle.sh("mkdir /tmp/x; grep ^Seccomp: /proc/self/status")
        p = run(olrun, bundle)
        assert p.returncode == 0, p.stderr
        assert "Operation not permitted" in p.stderr and "Seccomp:\t2" in p.stdout
        assert listener.state is not None and listener.state["fds"] == ["seccompFd"]
    finally:
        listener.close()
    # Architectures the spec names but this host's filters cannot hold.
    for arch in SPEC_SECCOMP_ARCHS:
        if arch in sc["archs"]:
            continue
        bundle.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch],
                                   "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}]}
        bundle.args("true")
        assert run(olrun, bundle).returncode != 0, arch


def test_listed_memory_policies_work(olrun, bundle, features):
    mp = features["linux"]["memoryPolicy"]
    assert "MPOL_BIND" in mp["modes"] and "MPOL_DEFAULT" in mp["modes"]
    bundle.args("/bin/testinit", "attrs")
    cases = [({"mode": m} if m in ("MPOL_DEFAULT", "MPOL_LOCAL") else {"mode": m, "nodes": "0"}) for m in mp["modes"]]
    cases += [{"mode": "MPOL_BIND", "nodes": "0", "flags": [f]} for f in mp["flags"]]
    for c in cases:
        bundle.linux["memoryPolicy"] = c
        bundle.write()
        p = run(olrun, bundle)
        assert p.returncode == 0, (c, p.stderr)
        got = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("mempolicy ")]
        assert got and int(got[0]) & 0xff == MPOL_NUMBERS[c["mode"]], (c, p.stdout)
    bundle.linux["memoryPolicy"] = {"mode": "MPOL_NOPE"}
    bundle.write()
    assert "MPOL_NOPE" in run(olrun, bundle).stderr
