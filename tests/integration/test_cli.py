"""The command line as a whole: --help everywhere, usage errors, --version,
checkpoint/restore refusing, and the man pages and bash completion made
from the command table (they must match what the parser accepts)."""
import filecmp
import os
import re
import shutil
import subprocess

import pytest

from conftest import OLRUN

REPO = os.path.join(os.path.dirname(__file__), "../..")


def olrun_cmd(*args, **kw):
    return subprocess.run([OLRUN] + list(args), capture_output=True, text=True, timeout=30, **kw)


def commands():
    out = olrun_cmd("--help").stdout
    block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def long_options(help_text):
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", help_text)) - {"--help"})


def test_every_command_has_help():
    cmds = commands()
    assert {"create", "start", "run", "exec", "state", "kill", "delete", "list", "features", "checkpoint",
            "restore"} <= set(cmds)
    for c in cmds:
        p = olrun_cmd(c, "--help")
        if c in ("checkpoint", "restore"):
            continue
        assert p.returncode == 0 and "Usage" in p.stdout and p.stderr == "", (c, p.stderr)


def test_usage_errors_exit_1():
    for c in commands():
        p = olrun_cmd(c, "--no-such-option")
        assert p.returncode == 1 and p.stdout == "", (c, p.stdout)
        assert "Usage" in p.stderr or (c in ("checkpoint", "restore") and "not supported" in p.stderr), c
    p = olrun_cmd("no-such-command")
    assert p.returncode == 1 and p.stdout == ""
    assert "unknown command `no-such-command`" in p.stderr and "Usage" in p.stderr
    p = olrun_cmd("--no-such-global")
    assert p.returncode == 1 and "Usage" in p.stderr
    p = olrun_cmd()
    assert p.returncode == 1 and "Usage" in p.stderr
    # Missing arguments are usage errors too.
    p = olrun_cmd("exec", "only-an-id")
    assert p.returncode == 1 and "Usage" in p.stderr


def test_version():
    p = olrun_cmd("--version")
    assert p.returncode == 0
    lines = p.stdout.splitlines()
    assert re.fullmatch(r"olrun version \d+\.\d+\.\d+", lines[0]), lines
    assert re.fullmatch(r"commit: \S+", lines[1]), lines
    assert re.fullmatch(r"spec: 1\.\d+\.\d+", lines[2]), lines
    assert re.fullmatch(r"libseccomp: \d+\.\d+\.\d+", lines[3]), lines
    assert olrun_cmd("-v").stdout == p.stdout
    import json
    f = json.loads(olrun_cmd("features").stdout)
    assert lines[2] == "spec: " + f["ociVersionMax"]
    assert lines[0].split()[-1] == f["annotations"]["org.olrun.version"]
    assert lines[3] == "libseccomp: " + f["annotations"]["io.github.seccomp.libseccomp.version"]


def test_checkpoint_restore_refuse(olrun, bundle):
    bundle.args("sleep", "100")
    cid = olrun.new_id()
    olrun.run("run", "-d", "-b", bundle.path, cid, check=True)
    try:
        for verb in ("checkpoint", "restore"):
            for args in (("--help",), (cid,), ("--image-path", "/tmp", cid)):
                p = olrun.run(verb, *args)
                assert p.returncode != 0, (verb, args)
                assert "checkpoint/restore is not supported" in p.stderr
        # The container was not touched.
        assert olrun.state(cid)["status"] == "running"
    finally:
        olrun.run("delete", "--force", cid)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    os.makedirs(d / "man")
    p = olrun_cmd("--generate-man", str(d / "man"))
    assert p.returncode == 0, p.stderr
    p = olrun_cmd("--generate-completion")
    assert p.returncode == 0, p.stderr
    (d / "olrun.bash-completion").write_text(p.stdout)
    return d


def test_man_pages_cover_the_parser(generated):
    pages = sorted(os.listdir(generated / "man"))
    assert pages == sorted(["olrun.8"] + ["olrun-%s.8" % c for c in commands()])
    for c in commands():
        page = (generated / "man" / ("olrun-%s.8" % c)).read_text()
        assert page.count(".TH ") == 1, c
        text = page.replace("\\-", "-")
        for opt in long_options(olrun_cmd(c, "--help").stdout):
            assert opt in text, (c, opt)
        if shutil.which("groff"):
            r = subprocess.run(["groff", "-man", "-ww", "-z"], input=page, capture_output=True, text=True)
            assert r.returncode == 0 and r.stderr == "", (c, r.stderr)
    main = (generated / "man" / "olrun.8").read_text().replace("\\-", "-")
    for opt in long_options(olrun_cmd("--help").stdout):
        assert opt in main, opt


def complete(script, words, env=None):
    """Run the completion function for `words` (the last is the one being
    completed) in bash and return COMPREPLY."""
    arr = " ".join("'%s'" % w for w in words)
    prog = 'source "$1"; COMP_WORDS=(%s); COMP_CWORD=%d; _olrun; printf "%%s\\n" "${COMPREPLY[@]}"' % (
        arr, len(words) - 1)
    p = subprocess.run(["bash", "-c", prog, "bash", str(script)], capture_output=True, text=True, timeout=30,
                       env=env)
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.splitlines() if w]


def test_completion(generated, olrun, bundle):
    script = generated / "olrun.bash-completion"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert complete(script, ["olrun", ""]) == commands()
    assert "--root" in complete(script, ["olrun", "--"])
    for c in commands():
        offered = complete(script, ["olrun", c, "--"])
        for opt in long_options(olrun_cmd(c, "--help").stdout):
            assert opt in offered, (c, opt)
    # Container IDs, from the --root given on the line.
    bundle.args("sleep", "100")
    cid = olrun.new_id()
    olrun.run("run", "-d", "-b", bundle.path, cid, check=True)
    try:
        env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(OLRUN)) + ":" + os.environ["PATH"])
        assert complete(script, ["olrun", "--root", olrun.root, "exec", ""], env) == [cid]
        assert complete(script, ["olrun", "--root", olrun.root, "exec", "-u", "0", ""], env) == [cid]
    finally:
        olrun.run("delete", "--force", cid)


def test_docs_in_the_repo_are_current(generated):
    """docs/ keeps the generated pages; `make docs` refreshes them."""
    docs = os.path.join(REPO, "docs")
    if not os.path.isdir(os.path.join(docs, "man")):
        pytest.skip("no docs/man in this tree")
    cmp = filecmp.dircmp(os.path.join(docs, "man"), generated / "man")
    assert not (cmp.left_only or cmp.right_only or cmp.diff_files), "run `make docs`: %s %s %s" % (
        cmp.left_only, cmp.right_only, cmp.diff_files)
    with open(os.path.join(docs, "olrun.bash-completion")) as f:
        assert f.read() == (generated / "olrun.bash-completion").read_text(), "run `make docs`"
