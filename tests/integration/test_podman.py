"""podman --runtime olrun: run --rm, checked from inside the container,
and nothing left behind (no container, no cgroup)."""
import os

from conftest import CGROUP2
from podman_lib import needs_podman, run_podman


@needs_podman
def test_podman_run_rm(tmp_path):
    p = run_podman(tmp_path, r"""
for i in 1 2 3; do
  $RUN --rm $IMG sh -c 'echo hello-$$; grep ^0:: /proc/self/cgroup; cat /proc/self/status | grep ^CapEff' || exit 10
done
$RUN --rm $IMG sh -c 'exit 42'; echo "status=$?"
echo "left=$($P ps -a -q | wc -l)"
""")
    assert p.returncode == 0, (p.stdout, p.stderr)
    lines = p.stdout.splitlines()
    # pid 1 in its own pid namespace, its own cgroup (cgroupns root), and
    # podman's default capabilities (not all of them).
    assert lines.count("hello-1") == 3, p.stdout
    assert lines.count("0::/") == 3, p.stdout
    caps = [l.split()[1] for l in lines if l.startswith("CapEff")]
    assert len(caps) == 3 and all(c != "000001ffffffffff" and int(c, 16) != 0 for c in caps), caps
    assert "status=42" in lines
    assert "left=0" in lines


@needs_podman
def test_podman_run_detached_then_rm(tmp_path):
    p = run_podman(tmp_path, r"""
cid=$($RUN -d $IMG sleep 1000) || exit 10
pid=$($P inspect -f '{{.State.Pid}}' $cid)
echo "cgroup=$(grep ^0:: /proc/$pid/cgroup)"
echo "status=$($P inspect -f '{{.State.Status}}' $cid)"
$P rm -f $cid > /dev/null; echo "rm=$?"
echo "alive=$(test -e /proc/$pid && echo yes || echo no)"
""")
    assert p.returncode == 0, (p.stdout, p.stderr)
    out = dict(l.split("=", 1) for l in p.stdout.splitlines() if "=" in l)
    assert out["status"] == "running" and out["rm"] == "0" and out["alive"] == "no", p.stdout
    cgroup = out["cgroup"].split("::")[-1]
    assert cgroup.startswith("/") and not os.path.exists(CGROUP2 + cgroup), cgroup
