"""The launcher as root, with the embedded runtime: `olrun run IMAGE [CMD...]`
end to end (issue 8).  Every test checks that nothing is left behind:
no instance, no container state, no mount."""
import hashlib
import json
import os
import signal
import subprocess

import pytest

import images_lib as L
from launcher_lib import Launcher, PtySession, leftovers, read_json, wait_for, write_image, write_images


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    d = tmp_path_factory.mktemp("launcher-image")
    layout = str(d / "layout")
    write_images(layout, {
        "v1": dict(cmd=["sh", "-c", "echo default-cmd; id -un"], env=["PATH=/bin", "IMAGE_VAR=from-image", "OTHER=x"],
                   workdir="/home/alice", labels={"org.example.purpose": "launcher-test"}),
        "alice": dict(cmd=["sh", "-c", "id -un; id -u; id -g; pwd"], user="alice", workdir="/home/alice"),
    })
    write_image(str(d / "nocmd"), cmd=None, entrypoint=None)
    write_image(str(d / "baduser"), cmd=["id"], user="nosuchuser")
    return {"ref": "oci:%s:v1" % layout, "alice": "oci:%s:alice" % layout, "layout": layout, "nocmd": "oci:%s" % (d / "nocmd"),
            "baduser": "oci:%s" % (d / "baduser"), "cache": str(d / "cache")}


@pytest.fixture
def launcher(tmp_path, image):
    l = Launcher(str(tmp_path / "state"), image["cache"])
    yield l
    left = leftovers(l.root)
    subprocess.run(["umount", "-R", str(tmp_path)], capture_output=True)
    assert not left, "left behind: %s" % left


def test_image_config_becomes_the_process(launcher, image):
    p = launcher.run(image["ref"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["default-cmd", "root"]
    p = launcher.run(image["ref"], "sh", "-c", "pwd; echo $IMAGE_VAR")
    assert p.stdout.split() == ["/home/alice", "from-image"]
    # User: a name from the image's /etc/passwd
    p = launcher.run(image["alice"])
    assert p.stdout.split() == ["alice", "1000", "1000", "/home/alice"], p.stderr


def test_options_override_the_image(launcher, image, tmp_path):
    envfile = tmp_path / "env"
    envfile.write_text("# comment\nFROM_FILE=yes\n\nOTHER=file\n")
    p = launcher.run("-e", "IMAGE_VAR=cli", "--env-file", envfile, "--cwd", "/tmp", "--hostname", "box",
                     "--entrypoint", "sh", image["ref"], "-c", "echo $IMAGE_VAR $FROM_FILE $OTHER; pwd; hostname")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["cli", "yes", "file", "/tmp", "box"]


def test_exit_status_is_the_containers(launcher, image):
    assert launcher.run(image["ref"], "sh", "-c", "exit 42").returncode == 42
    p = launcher.run(image["ref"], "/bin/nonexistent")
    assert p.returncode == 127 and "nonexistent" in p.stderr


def test_killed_container_gives_128_plus_signal(launcher, image):
    p = subprocess.Popen(launcher.cmd(*launcher.run_args(image["ref"], "sleep", "60")),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert wait_for(lambda: launcher.instances() and _status(launcher, launcher.instances()[0]) == "running")
    cid = launcher.instances()[0]
    assert subprocess.run([launcher.cmd()[0], "--root", launcher.root, "kill", cid, "KILL"]).returncode == 0
    assert p.wait(timeout=30) == 128 + signal.SIGKILL


def _status(launcher, cid):
    p = launcher.olrun("state", cid)
    return json.loads(p.stdout)["status"] if p.returncode == 0 else None


def test_signals_are_forwarded_and_everything_removed(launcher, image):
    script = "trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done"
    p = subprocess.Popen(launcher.cmd(*launcher.run_args(image["ref"], "sh", "-c", script)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\n"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 3, err
    assert out == b"got-term\n"
    assert launcher.instances() == []


def test_stdin_and_stdout_are_byte_exact(launcher, image, tmp_path):
    data = os.urandom(3 << 20) + bytes(range(256)) + b"\r\n\x00\x03\x04"
    p = launcher.run(image["ref"], "cat", input=data)
    assert p.returncode == 0, p.stderr
    with_pipe = subprocess.run(launcher.cmd(*launcher.run_args(image["ref"], "cat")), input=data,
                               capture_output=True, timeout=60)
    assert hashlib.sha256(with_pipe.stdout).digest() == hashlib.sha256(data).digest()


def test_second_launch_unpacks_nothing(tmp_path, image):
    cache = str(tmp_path / "cache")
    l = Launcher(str(tmp_path / "state"), cache)
    first = l.run(image["ref"], "true")
    assert first.returncode == 0 and "unpack layer 1/1" in first.stderr
    images = os.path.join(cache, "images", "sha256")
    (digest,) = os.listdir(images)
    before = os.stat(os.path.join(images, digest, "rootfs", "bin", "busybox"))
    second = l.run(image["ref"], "true")
    assert second.returncode == 0 and second.stderr == ""
    assert os.listdir(images) == [digest]
    after = os.stat(os.path.join(images, digest, "rootfs", "bin", "busybox"))
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert leftovers(l.root) == []


def test_rootfs_is_the_pristine_tree_read_only_nodev_nosuid(launcher, image):
    p = launcher.run(image["ref"], "sh", "-c",
                     "awk '$5 == \"/\"' /proc/self/mountinfo; touch /data/x 2>&1 || echo refused; cat /data/pristine; "
                     "touch /tmp/ok && echo tmp-writable")
    assert p.returncode == 0, p.stderr
    root_line = p.stdout.splitlines()[0].split()
    assert {"ro", "nosuid", "nodev"} <= set(root_line[5].split(","))
    assert "rootfs" in root_line[3] and "images/sha256" in root_line[3]
    assert "refused" in p.stdout and "from the image" in p.stdout and "tmp-writable" in p.stdout


def test_writable_tmpfs_is_an_overlay_that_leaves_the_image_alone(launcher, image):
    p = launcher.run("--writable-tmpfs", image["ref"], "sh", "-c",
                     "echo changed > /data/pristine && mkdir /newdir && cat /data/pristine; "
                     "awk '$5 == \"/\"' /proc/self/mountinfo")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "changed"
    assert " overlay " in p.stdout
    again = launcher.run(image["ref"], "sh", "-c", "cat /data/pristine; test -e /newdir || echo no-newdir")
    assert again.stdout.split("\n")[:2] == ["from the image", "no-newdir"]


def test_binds(launcher, image, tmp_path):
    src = tmp_path / "host"
    src.mkdir()
    (src / "f").write_text("host file\n")
    p = launcher.run("-B", "%s:/data:ro" % src, "--bind", "%s:/mnt/new/dir" % src, image["ref"], "sh", "-c",
                     "cat /data/f; touch /data/x 2>/dev/null || echo ro-refused; "
                     "echo written > /mnt/new/dir/g; test -e /mnt/new || echo missing")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:2] == ["host file", "ro-refused"]
    # the second destination did not exist in the image: made on an overlay
    assert (src / "g").read_text() == "written\n"


def test_network_host_by_default_none_on_request(launcher, image):
    with open("/proc/net/dev") as f:
        host_ifaces = sorted(l.split(":")[0].strip() for l in f.readlines()[2:])
    p = launcher.run(image["ref"], "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort")
    assert p.stdout.split() == host_ifaces
    p = launcher.run("--net", "none", image["ref"], "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert p.stdout.split() == ["lo"]


def test_keep_bundle_and_labels_as_annotations(launcher, image, tmp_path):
    keep = tmp_path / "kept"
    p = launcher.run("--keep-bundle", keep, image["ref"], "true")
    assert p.returncode == 0, p.stderr
    cfg = read_json(keep / "config.json")
    assert cfg["annotations"]["org.example.purpose"] == "launcher-test"
    assert cfg["process"]["args"] == ["true"]
    with open("/proc/self/mountinfo") as f:
        assert str(keep / "rootfs") in [l.split()[4] for l in f]
    assert (keep / "rootfs" / "data" / "pristine").read_text() == "from the image\n"
    subprocess.run([launcher.cmd()[0], "bundle", "delete", str(keep)], check=True)
    assert not keep.exists()


@pytest.mark.skipif(not os.path.exists("/usr/share/containers/seccomp.json"), reason="podman's profile missing")
def test_seccomp_podman_default_builtin_unconfined(launcher, image):
    probe = "grep Seccomp: /proc/self/status | tr -d '\\t'; seccomp_probe 272 0"  # unshare(0)
    default = launcher.run(image["ref"], "sh", "-c", probe)
    builtin = launcher.run("--seccomp", "builtin", image["ref"], "sh", "-c", probe)
    unconfined = launcher.run("--seccomp", "unconfined", image["ref"], "sh", "-c", probe)
    assert default.stdout.split() == ["Seccomp:2", "0"], default.stderr  # podman allows unshare
    assert builtin.stdout.split() == ["Seccomp:2", "1"], builtin.stderr  # olrun's default refuses it
    assert unconfined.stdout.split() == ["Seccomp:0", "0"], unconfined.stderr


def test_a_bundle_directory_runs_with_a_generated_id(launcher, image, tmp_path):
    keep = tmp_path / "b"
    launcher.run("--keep-bundle", keep, image["ref"], "true", check=True)
    cfg = read_json(keep / "config.json")
    cfg["process"]["args"] = ["sh", "-c", "echo from-bundle; hostname"]
    (keep / "config.json").write_text(json.dumps(cfg))
    p = launcher.run(keep)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["from-bundle", "olrun"]
    refused = launcher.run(keep, "echo")
    assert refused.returncode == 1 and "applies to images only" in refused.stderr
    subprocess.run([launcher.cmd()[0], "bundle", "delete", str(keep)], check=True)


def test_a_container_id_still_runs_as_runc_does(launcher, image):
    p = launcher.olrun("run", "busybox", "sh")
    assert p.returncode == 1 and "is a container ID" in p.stderr
    p = launcher.olrun("run", "--bundle", "/nonexistent", "some-id")
    assert p.returncode == 1 and "/nonexistent" in p.stderr


@pytest.mark.parametrize("case", ["transport", "missing-image", "missing-tag", "bind-source", "bind-dotdot",
                                  "no-command", "no-user", "backend"])
def test_bad_input_fails_clearly_and_leaves_nothing(launcher, image, tmp_path, case):
    args, words = {
        "transport": (["nosuch://x/y"], "nosuch"),
        "missing-image": (["oci:%s/none" % tmp_path], "none"),
        "missing-tag": (["%s-nosuchtag" % image["ref"]], "nosuchtag"),
        "bind-source": (["-B", "%s/none:/x" % tmp_path, image["ref"]], "source"),
        "bind-dotdot": (["-B", "/tmp:/x/../etc", image["ref"]], ".."),
        "no-command": ([image["nocmd"]], "no Entrypoint or Cmd"),
        "no-user": ([image["baduser"]], "nosuchuser"),
        "backend": (["--backend", "nosuch-runtime", image["ref"]], "not installed"),
    }[case]
    p = launcher.run("-q", *args)
    assert p.returncode == 1, p.stdout
    assert p.stderr.startswith("olrun: ") and words in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert launcher.instances() == []


def test_a_killed_launch_is_cleaned_up_by_the_next(launcher, image):
    p = subprocess.Popen(launcher.cmd(*launcher.run_args(image["ref"], "sleep", "300")),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: launcher.instances() and _status(launcher, launcher.instances()[0]) == "running")
    cid = launcher.instances()[0]
    pid = read_json(os.path.join(launcher.root, cid, "state.json"))["pid"]
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert launcher.instances() == [cid]          # left behind by the kill ...
    os.kill(pid, 0)                                # ... with its container
    assert launcher.run(image["ref"], "true").returncode == 0
    assert launcher.instances() == []             # removed by the next launch
    assert not os.path.exists(os.path.join(launcher.root, cid))
    assert wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                    open("/proc/%d/stat" % pid).read().split()[2] == "Z")


def terminal_session(cmd):
    """A launch on a terminal: the size reaches the container at the start
    and on SIGWINCH; the caller's terminal settings come back unchanged."""
    t = PtySession(cmd, rows=33, cols=101)
    t.type(b"tty; stty size\r")
    assert t.read_until(b"33 101"), t.out
    t.resize(50, 132)
    # The new size travels with SIGWINCH, apart from what is typed: ask
    # until it has arrived.
    for _ in range(20):
        t.type(b"stty size\r")
        if t.read_until(b"50 132", timeout=0.5):
            break
    assert b"50 132" in t.out, t.out
    t.type(b"exit 7\r")
    status, after = t.close()
    assert status == 7, t.out
    assert b"/dev/pts/0" in t.out
    assert after == t.before


def test_terminal_raw_mode_restored_and_size_passed(launcher, image):
    terminal_session(launcher.cmd(*launcher.run_args(image["ref"], "sh")))


@pytest.mark.skipif(not os.path.exists("/usr/share/containers/seccomp.json"), reason="podman's profile missing")
def test_seccomp_profile_is_the_one_podman_writes(launcher, image, tmp_path):
    import seccomp_profiles
    keep = tmp_path / "kept"
    launcher.run("--keep-bundle", keep, image["ref"], "true", check=True)
    try:
        assert read_json(keep / "config.json")["linux"]["seccomp"] == seccomp_profiles.podman_profile()
    finally:
        subprocess.run([launcher.cmd()[0], "bundle", "delete", str(keep)], check=True)
