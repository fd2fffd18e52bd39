"""Shared by the launcher tests: test images built offline (busybox-static
with every applet, the static test helpers, an image config), a shared
cache, runs of `olrun run` that capture output through files, and the
checks for what a launch may leave behind."""
import fcntl
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import tempfile
import termios
import time

import images_lib as L
from conftest import HELPERS, OLRUN, wait_for  # noqa: F401 (wait_for: for the tests)


def busybox_full_layer(extra_files=None):
    """busybox-static with all its applets (symlinks), the test helpers, a
    passwd/group with a named user, and the usual empty directories."""
    with open(L.BUSYBOX, "rb") as f:
        bb = f.read()
    applets = subprocess.run([L.BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    l = L.Layer()
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc", "root", "home", "home/alice", "var", "var/tmp", "run",
              "data"):
        l.dir(d, mode=0o1777 if d in ("tmp", "var/tmp") else 0o755)
    l.file("bin/busybox", bb, mode=0o755)
    for a in applets:
        if a != "busybox":
            l.symlink("bin/" + a, "busybox")
    for h in ("olrun-testinit", "seccomp_probe"):
        p = os.path.join(HELPERS, h)
        if HELPERS and os.path.exists(p):
            with open(p, "rb") as f:
                l.file("bin/" + h, f.read(), mode=0o755)
    l.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"
                         "nobody:x:65534:65534::/:/bin/sh\n")
    l.file("etc/group", "root:x:0:\ntty:x:5:\nstaff:x:50:alice\nalice:x:1000:\nnogroup:x:65534:\n")
    l.file("etc/hosts", "127.0.0.1 localhost\n")
    l.file("etc/resolv.conf", "# the image's own\n")
    l.file("data/pristine", "from the image\n")
    for path, data in (extra_files or {}).items():
        l.file(path, data)
    return l


def write_image(layout, tag="latest", **config):
    """An OCI layout at `layout` with one busybox image; config: cmd,
    entrypoint, env, workdir, user, labels."""
    return write_images(layout, {tag: config})[tag]


def write_images(layout, configs):
    """An OCI layout with one busybox image per tag: {tag: config}."""
    images = {}
    for tag, config in configs.items():
        config.setdefault("env", ["PATH=/bin", "IMAGE_VAR=from-image"])
        images[tag] = L.Image([busybox_full_layer()], **config)
    L.write_oci(layout, images)
    return images


def leftovers(root):
    """What a launch under --root may not leave: instance dirs, container
    state dirs, backend state, mounts of its bundles."""
    found = []
    launch = os.path.join(root, ".launch")
    if os.path.isdir(launch):
        found += ["instance %s" % e for e in os.listdir(launch) if not e.startswith(".")]
    if os.path.isdir(root):
        found += ["state %s" % e for e in os.listdir(root) if not e.startswith(".")]
        for b in os.listdir(root):
            if b.startswith(".backend-"):
                found += ["%s state %s" % (b, e) for e in os.listdir(os.path.join(root, b))]
    with open("/proc/self/mountinfo") as f:
        found += ["mount %s" % l.split()[4] for l in f if root in l.split()[4]]
    return found


class Launcher:
    """`olrun run` with a private --root and the shared cache."""

    def __init__(self, root, cache, wrap=None, env=None):
        self.root = root
        self.cache = cache
        self.wrap = wrap or []
        self.env = env

    def cmd(self, *args):
        return self.wrap + [OLRUN, "--root", self.root] + [str(a) for a in args]

    def run_args(self, *opts):
        return ["run", "--cache", self.cache] + [str(o) for o in opts]

    def run(self, *opts, input=None, timeout=60, check=False, **kw):
        """olrun run [opts...]; output through files (a pipe could be kept
        open by a process the container left behind)."""
        return self.olrun(*self.run_args(*opts), input=input, timeout=timeout, check=check, **kw)

    def olrun(self, *args, input=None, timeout=60, check=False, **kw):
        with tempfile.TemporaryFile("w+b") as out, tempfile.TemporaryFile("w+b") as err:
            stdin = subprocess.DEVNULL if input is None else subprocess.PIPE
            p = subprocess.Popen(self.cmd(*args), stdin=stdin, stdout=out, stderr=err, env=self.env, **kw)
            try:
                p.communicate(input=input if isinstance(input, (bytes, type(None))) else input.encode(),
                              timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise
            out.seek(0)
            err.seek(0)
            r = subprocess.CompletedProcess(p.args, p.returncode, out.read().decode(errors="replace"),
                                            err.read().decode(errors="replace"))
        if check and r.returncode != 0:
            raise AssertionError("%s failed (%d): %s" % (" ".join(r.args), r.returncode, r.stderr))
        return r

    def instances(self):
        d = os.path.join(self.root, ".launch")
        return sorted(e for e in os.listdir(d) if not e.startswith(".")) if os.path.isdir(d) else []


def pure_cgroup2_wrap():
    """Run a command in a private mount namespace whose /sys/fs/cgroup is
    cgroup2 alone: crun, runc and podman would otherwise also write to the
    host's v1 hierarchies (DESIGN.md, Build-host facts)."""
    return ["unshare", "-m", "sh", "-c", 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"', "sh"]


def backends():
    """embedded, and crun and runc when installed."""
    return ["embedded"] + [b for b in ("crun", "runc") if shutil.which(b)]


def read_json(path):
    with open(path) as f:
        return json.load(f)


class PtySession:
    """A command on a pty of its own, as a user at a terminal: its
    controlling terminal, in the foreground."""

    def __init__(self, cmd, rows=24, cols=80):
        self.master, self.slave = pty.openpty()
        self.resize(rows, cols)
        self.before = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen(cmd, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                     start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        self.out = b""

    def resize(self, rows, cols):
        """What a terminal emulator does: the kernel then sends SIGWINCH."""
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, data):
        os.write(self.master, data)

    def read_until(self, needle, timeout=10):
        end = time.time() + timeout
        while needle not in self.out and time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    break
        return needle in self.out

    def close(self, timeout=20):
        """Wait for the command; (exit status, the terminal's settings)."""
        status = self.proc.wait(timeout=timeout)
        after = termios.tcgetattr(self.slave)
        os.close(self.master)
        os.close(self.slave)
        return status, after
