"""Bad input: a clear error naming the file, the JSON path and the byte
offset, exit status 1, and nothing left behind (the olrun fixture checks
for state dirs, cgroups and mounts after each test)."""
import json
import os
import re
import subprocess

import pytest


def create_fails(olrun, bundle, *extra):
    cid = olrun.new_id()
    p = olrun.run("create", "-b", bundle.path, *extra, cid)
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith("olrun: "), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    return p.stderr


def write_raw(bundle, text):
    with open(os.path.join(bundle.path, "config.json"), "w") as f:
        f.write(text)


def test_malformed_json_names_file_and_offset(olrun, bundle):
    write_raw(bundle, '{"ociVersion": "1.2.0", "process": {"args": ["a",, "b"]}}')
    err = create_fails(olrun, bundle)
    assert "config.json" in err and "invalid JSON at byte" in err
    offset = int(re.search(r"at byte (\d+)", err).group(1))
    assert offset == 49  # the second comma


def test_truncated_json(olrun, bundle):
    bundle.write()
    text = open(os.path.join(bundle.path, "config.json")).read()
    write_raw(bundle, text[: len(text) // 2])
    err = create_fails(olrun, bundle)
    assert "config.json" in err and "premature EOF" in err


def test_config_is_a_directory(olrun, bundle):
    os.mkdir(os.path.join(bundle.path, "config.json"))
    err = create_fails(olrun, bundle)
    assert "config.json" in err and "not a regular file" in err


def test_config_missing(olrun, bundle):
    err = create_fails(olrun, bundle)
    assert "config.json" in err and "No such file" in err


def offset_of(text, needle):
    return text.index(needle)


def test_wrong_type_names_path_and_offset(olrun, bundle):
    bundle.config["process"]["args"] = ["sh", "-c", 3]
    bundle.write()
    text = open(os.path.join(bundle.path, "config.json")).read()
    err = create_fails(olrun, bundle)
    assert "config.json: process.args[2]: expected a string, got a number" in err
    byte = int(re.search(r"\(byte (\d+)\)", err).group(1))
    assert text[byte] == "3"


def test_unknown_namespace_type(olrun, bundle):
    bundle.linux["namespaces"].append({"type": "bogus"})
    bundle.write()
    n = len(bundle.linux["namespaces"]) - 1
    err = create_fails(olrun, bundle)
    assert "linux.namespaces[%d].type: unknown namespace type `bogus`" % n in err
    assert "(byte " in err


def test_namespace_path_not_a_namespace(olrun, bundle, tmp_path):
    f = tmp_path / "plain"
    f.write_text("x")
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "network"]
    bundle.linux["namespaces"].append({"type": "network", "path": str(f)})
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "is not a namespace" in err


def test_namespace_path_of_wrong_type(olrun, bundle):
    bundle.linux["namespaces"] = [n for n in bundle.linux["namespaces"] if n["type"] != "ipc"]
    bundle.linux["namespaces"].append({"type": "ipc", "path": "/proc/self/ns/net"})
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "is not a ipc namespace" in err


def test_unknown_mount_option_on_bind(olrun, bundle, tmp_path):
    bundle.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(tmp_path),
                                    "options": ["rbind", "frobnicate"]})
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "mounts[%d].options: unknown mount option `frobnicate`" % (len(bundle.config["mounts"]) - 1) in err


def test_unknown_filesystem_option_reported_by_kernel(olrun, bundle):
    bundle.config["mounts"].append({"destination": "/mnt", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["frobnicate=1"]})
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "`/mnt`" in err and "frobnicate" in err


def test_unknown_filesystem_type(olrun, bundle):
    bundle.config["mounts"].append({"destination": "/mnt", "type": "nosuchfs", "source": "x"})
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "unknown filesystem type `nosuchfs`" in err


def test_relative_cwd(olrun, bundle):
    bundle.config["process"]["cwd"] = "relative/dir"
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "process.cwd: must be an absolute path" in err


def test_missing_rootfs(olrun, bundle):
    bundle.config["root"]["path"] = "nonexistent"
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "rootfs" in err and "nonexistent" in err


def test_rootfs_is_a_file(olrun, bundle):
    open(os.path.join(bundle.path, "afile"), "w").close()
    bundle.config["root"]["path"] = "afile"
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "is not a directory" in err


def test_hook_binary_missing(olrun, bundle):
    bundle.config["hooks"] = {"createRuntime": [{"path": "/nonexistent/hook"}]}
    bundle.args("true")
    err = create_fails(olrun, bundle)
    assert "hooks.createRuntime[0].path `/nonexistent/hook`: No such file" in err


def test_bad_signal_name_is_an_error(olrun):
    p = olrun.run("kill", "someid", "NOTASIGNAL")
    assert p.returncode == 1 and "unknown signal" in p.stderr


@pytest.mark.parametrize("version,ok", [("1.0.2-dev", True), ("1.3.0", True), ("1.9.0", True),
                                        ("2.0.0", False), ("0.9", False)])
def test_oci_version(olrun, bundle, version, ok):
    bundle.config["ociVersion"] = version
    bundle.args("true")
    p = olrun.run("run", "-b", bundle.path, olrun.new_id())
    assert (p.returncode == 0) == ok, p.stderr
    if not ok:
        assert "ociVersion: unsupported version" in p.stderr


def test_unknown_fields_ignored(olrun, bundle):
    bundle.config["someFutureField"] = {"x": [1, 2]}
    bundle.config["process"]["futureOption"] = True
    bundle.args("true")
    assert olrun.run("run", "-b", bundle.path, olrun.new_id()).returncode == 0


def test_missing_required_field(olrun, bundle):
    del bundle.config["root"]
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "config.json: root: required but missing" in err


def test_unknown_capability(olrun, bundle):
    bundle.config["process"]["capabilities"]["bounding"].append("CAP_NOT_A_CAP")
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "process.capabilities.bounding[3]: unknown capability `CAP_NOT_A_CAP`" in err


def test_non_namespaced_sysctl_refused(olrun, bundle):
    bundle.linux["sysctl"] = {"kernel.panic": "1"}
    bundle.write()
    err = create_fails(olrun, bundle)
    assert "linux.sysctl" in err and "kernel.panic" in err


def test_config_flag(olrun, bundle, tmp_path):
    cfg = tmp_path / "other.json"
    bundle.args("sh", "-c", "exit 5")
    c = dict(bundle.config)
    c["process"] = dict(c["process"], args=["sh", "-c", "exit 9"])
    cfg.write_text(json.dumps(c))
    p = olrun.run("run", "-b", bundle.path, "--config", cfg, olrun.new_id())
    assert p.returncode == 9
    p = olrun.run("run", "-b", bundle.path, "--config", tmp_path / "missing.json", olrun.new_id())
    assert p.returncode == 1 and "missing.json" in p.stderr


def test_log_json_format(olrun, bundle, tmp_path):
    log = tmp_path / "log.json"
    write_raw(bundle, "{")
    p = subprocess.run(olrun.cmd("--log", log, "--log-format", "json", "create", "-b", bundle.path, "x1"),
                       capture_output=True, text=True)
    assert p.returncode == 1
    lines = log.read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "error" and "config.json" in entry["msg"] and entry["time"].endswith("Z")
