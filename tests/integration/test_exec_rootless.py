"""exec into a rootless container, by the unprivileged user who made it."""
from test_rootless import as_user, config, olrun_in_rootfs, rl, user  # noqa: F401 (fixtures)


def test_rootless_exec(rl):
    config(rl, ["sleep", "1000"])
    p = as_user(rl, "run", "-d", "rl-exec")
    assert p.returncode == 0, p.stderr
    try:
        p = as_user(rl, "exec", "rl-exec", "sh", "-c",
                    "id -u; [ $(readlink /proc/self/ns/mnt) = $(readlink /proc/1/ns/mnt) ] && echo same-mnt;"
                    "[ $(readlink /proc/self/ns/pid) = $(readlink /proc/1/ns/pid) ] && echo same-pid;"
                    "[ $(readlink /proc/self/ns/user) = $(readlink /proc/1/ns/user) ] && echo same-user")
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == ["0", "same-mnt", "same-pid", "same-user"], p.stdout
        assert as_user(rl, "exec", "rl-exec", "sh", "-c", "exit 7").returncode == 7
        p = as_user(rl, "exec", "rl-exec", "no-such-binary")
        assert p.returncode == 127 and "not found" in p.stderr
    finally:
        as_user(rl, "delete", "-f", "rl-exec")


def test_cve_2019_5736_rootless_exec_exe_is_readonly(rl):
    # The exec'd process of a rootless container clones the binary's mount
    # in the container's user namespace (the caller cannot).  Made to exec
    # /proc/self/exe, it stays olrun (blocked on a FIFO): its exe link must
    # be on a read-only mount.
    import json
    import os
    import subprocess
    from conftest import wait_for
    from test_security import exe_writable
    olrun_bin = olrun_in_rootfs(rl)
    config(rl, ["sleep", "1000"])
    p = as_user(rl, "run", "-d", "rl-exe2")
    assert p.returncode == 0, p.stderr
    try:
        init = json.loads(as_user(rl, "state", "rl-exe2").stdout)["pid"]
        env = {"PATH": os.environ["PATH"], "XDG_RUNTIME_DIR": str(rl["xdg"])}
        proc = subprocess.Popen(["setpriv", "--reuid", str(rl["uid"]), "--regid", str(rl["gid"]), "--clear-groups",
                                 "--", olrun_bin, "exec", "rl-exe2", "/proc/self/exe", "--log", "/fifo", "list"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env, cwd=str(rl["bundle"]))
        pidns = os.readlink("/proc/%d/ns/pid" % init)

        def exec_pid():
            for d in os.listdir("/proc"):
                try:
                    if (d.isdigit() and os.readlink("/proc/%s/ns/pid" % d) == pidns
                            and open("/proc/%s/cmdline" % d).read().split("\0")[0] == "/proc/self/exe"):
                        return int(d)
                except OSError:
                    pass
            return None
        try:
            assert wait_for(exec_pid)
            exe = "/proc/%d/exe" % exec_pid()
            assert os.stat(exe).st_ino == os.stat(olrun_bin).st_ino
            assert exe_writable(exe)[0], "the exec'd process's exe link is on a writable mount"
        finally:
            proc.kill()
            proc.wait()
    finally:
        as_user(rl, "delete", "-f", "rl-exe2")
