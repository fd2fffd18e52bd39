"""podman --runtime olrun: pause, unpause and stop go through olrun's
cgroup code (pause/resume -> cgroup.freeze, kill --all, delete).

podman creates cgroups in every hierarchy it sees, so it runs only in a
private mount namespace with the pure v2 view (DESIGN.md, build-host
facts), with its own storage under the test's directory."""
import os

from conftest import CGROUP2
from podman_lib import needs_podman, run_podman

BODY = r"""
$P run -d --name pt --network none --pids-limit 0 --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
   $IMG /bin/sleep 1000 > $T/cid || exit 97
echo "cgroup=$(grep ^0:: /proc/$($P inspect -f '{{.State.Pid}}' pt)/cgroup)"
$P pause pt > /dev/null; echo "pause=$?"
echo "status=$($P inspect -f '{{.State.Status}}' pt)"
echo "runtime-state=$($OLRUN state $(cat $T/cid) 2>/dev/null | grep -c paused)"
$P unpause pt > /dev/null; echo "unpause=$?"
echo "status=$($P inspect -f '{{.State.Status}}' pt)"
$P stop -t 1 pt > /dev/null 2>&1; echo "stop=$?"
echo "status=$($P inspect -f '{{.State.Status}}' pt)"
$P rm pt > /dev/null; echo "rm=$?"
"""


@needs_podman
def test_podman_pause_unpause_stop(tmp_path):
    p = run_podman(tmp_path, BODY, timeout=180)
    out = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    assert p.returncode == 0, (p.stdout, p.stderr)
    cgroup = out["cgroup"].split("::")[-1]
    assert out["pause"] == "0" and out["unpause"] == "0" and out["stop"] == "0" and out["rm"] == "0", p.stdout
    statuses = [l.split("=", 1)[1] for l in p.stdout.splitlines() if l.startswith("status=")]
    assert statuses == ["paused", "running", "exited"], p.stdout
    # olrun's own state (podman passes no --root: the default) said paused.
    assert out["runtime-state"] == "1", p.stdout
    # The container's cgroup is gone after `podman rm`.
    assert cgroup.startswith("/") and not os.path.exists(CGROUP2 + cgroup), cgroup
