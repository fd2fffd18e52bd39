"""Fixtures for the integration tests: the built binary run as a user would,
as root, against real busybox bundles.

Every test gets its own --root, and after it the `olrun` fixture checks
that nothing was left behind: no state dir, no cgroup, no mount under the
test's directory, no process in the test's cgroups."""
import copy
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

OLRUN = os.environ.get("OLRUN", os.path.join(os.path.dirname(__file__), "../../olrun"))
HELPERS = os.environ.get("OLRUN_HELPERS", "")
BUSYBOX = "/bin/busybox"
CGROUP2 = "/sys/fs/cgroup/unified" if os.path.ismount("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"

APPLETS = ["sh", "ls", "cat", "echo", "id", "hostname", "grep", "sleep", "true", "false",
           "ps", "env", "stat", "readlink", "mount", "touch", "mkdir", "wc", "head", "tty",
           "kill", "test", "[", "printf", "nproc", "dd", "mknod", "rm", "ln", "chmod", "umask",
           "tr", "cut", "sed", "awk", "date", "uname", "whoami", "pwd", "find", "sort", "tail", "stty",
           "ip", "xargs", "seq"]


def make_rootfs(path):
    """A minimal busybox rootfs, plus the static test helper when built."""
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc", "root"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(path, "bin/busybox"))
    for a in APPLETS:
        link = os.path.join(path, "bin", a)
        if not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(path, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
                "user:x:1000:1000:user:/tmp:/bin/sh\n")
    with open(os.path.join(path, "etc/group"), "w") as f:
        f.write("root:x:0:\ntty:x:5:\nnogroup:x:65534:\nuser:x:1000:\n")
    helper = os.path.join(HELPERS, "olrun-testinit") if HELPERS else ""
    if helper and os.path.exists(helper):
        shutil.copy2(helper, os.path.join(path, "bin/testinit"))


def base_config(args):
    """The config runc's `spec` makes (terminal off), with our args."""
    return {
        "ociVersion": "1.2.0",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                             for k in ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "olrun-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


@pytest.fixture(scope="session")
def shared_rootfs(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("rootfs-shared") / "rootfs")
    make_rootfs(path)
    return path


class Bundle:
    def __init__(self, path, rootfs):
        self.path = path
        self.rootfs = rootfs
        self.config = base_config(["true"])

    def write(self):
        with open(os.path.join(self.path, "config.json"), "w") as f:
            json.dump(self.config, f, indent=1)
        return self

    @property
    def process(self):
        return self.config["process"]

    @property
    def linux(self):
        return self.config["linux"]

    def args(self, *args):
        self.config["process"]["args"] = list(args)
        return self.write()

    def sh(self, script):
        return self.args("sh", "-c", script)


def traversable(path):
    """Let a container's root in a user namespace (not host root) reach
    the bundle: pytest's temp dirs are 0700."""
    path = os.path.abspath(path)
    while path not in ("/", "/tmp"):
        os.chmod(path, os.stat(path).st_mode | 0o111)
        path = os.path.dirname(path)


@pytest.fixture
def bundle(tmp_path, shared_rootfs):
    """A bundle whose rootfs is the shared, read-only busybox tree."""
    path = str(tmp_path / "bundle")
    os.makedirs(path)
    os.symlink(shared_rootfs, os.path.join(path, "rootfs"))
    traversable(path)
    traversable(shared_rootfs)
    return Bundle(path, shared_rootfs)


@pytest.fixture
def own_bundle(tmp_path):
    """A bundle with a rootfs of its own, for tests that change it."""
    path = str(tmp_path / "bundle")
    rootfs = os.path.join(path, "rootfs")
    os.makedirs(rootfs)
    make_rootfs(rootfs)
    traversable(rootfs)
    b = Bundle(path, rootfs)
    b.config["root"]["readonly"] = False
    return b


class Olrun:
    """Runs the binary with a private --root, and checks for leftovers."""

    def __init__(self, root, tmp_path):
        self.root = root
        self.tmp_path = str(tmp_path)
        self.ids = []

    def new_id(self, prefix="t"):
        cid = "%s-%s" % (prefix, uuid.uuid4().hex[:12])
        self.ids.append(cid)
        return cid

    def cmd(self, *args, root=True):
        base = [OLRUN]
        if root:
            base += ["--root", self.root]
        return base + [str(a) for a in args]

    def run(self, *args, check=False, timeout=60, input=None, **kw):
        """Run olrun and return its status and output.  The output goes to
        files, not pipes: a created container keeps olrun's stdio open, and
        a pipe would then never reach EOF."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            stdin = subprocess.DEVNULL if input is None else subprocess.PIPE
            proc = subprocess.Popen(self.cmd(*args), stdin=stdin, stdout=out, stderr=err, text=True, **kw)
            try:
                proc.communicate(input=input, timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
            out.seek(0)
            err.seek(0)
            p = subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())
        if check and p.returncode != 0:
            raise AssertionError("olrun %s failed (%d): %s" % (" ".join(map(str, args)),
                                                              p.returncode, p.stderr))
        return p

    def state(self, cid):
        return json.loads(self.run("state", cid, check=True).stdout)

    def leftovers(self):
        found = []
        if os.path.isdir(self.root):
            found += ["state dir %s" % e for e in os.listdir(self.root) if not e.startswith(".")]
        for cid in self.ids:
            cg = os.path.join(CGROUP2, "olrun", cid)
            if os.path.exists(cg):
                found.append("cgroup %s" % cg)
        with open("/proc/self/mountinfo") as f:
            for line in f:
                if self.tmp_path in line.split()[4]:
                    found.append("mount %s" % line.split()[4])
        return found


def checked(o):
    """Yield o to the test, then fail it on anything left behind."""
    yield o
    left = o.leftovers()
    # Clean up for the next tests before failing this one.
    for cid in o.ids:
        subprocess.run(o.cmd("delete", "--force", cid), capture_output=True)
    assert not left, "left behind: %s" % left


@pytest.fixture
def olrun(tmp_path):
    yield from checked(Olrun(str(tmp_path / "state"), tmp_path))


def wait_for(pred, timeout=10.0, step=0.02):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def deep(d):
    return copy.deepcopy(d)
