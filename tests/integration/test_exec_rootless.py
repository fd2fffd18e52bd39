"""exec into a rootless container, by the unprivileged user who made it."""
from test_rootless import as_user, config, rl, user  # noqa: F401 (fixtures)


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
