"""Seccomp profiles for the tests and the bench.

podman's /usr/share/containers/seccomp.json is in containers/common's
format (archMap, includes/excludes by capability and architecture); podman
turns it into the runtime-spec's linux.seccomp before it calls the runtime.
podman_profile() does the same conversion, for podman's default
capabilities on this machine's architecture, so the tests exercise the
profile exactly as olrun receives it from podman.  (Checked against
podman 4.3's own output, captured with a stand-in runtime: identical.)

Run as a script, it prints that profile (for bench/seccomp.sh)."""

import json
import os
import platform
import sys

PODMAN_PROFILE = "/usr/share/containers/seccomp.json"

# containers.conf default_capabilities (podman 4.3).
PODMAN_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
    "CAP_SETUID", "CAP_SYS_CHROOT",
]

# uname -m -> (Go's GOARCH, the native SCMP_ARCH_*)
_ARCHES = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
}


def _kernel_at_least(version):
    have = [int(x) for x in platform.release().split("-")[0].split(".")[:2]]
    want = [int(x) for x in version.split(".")[:2]]
    return have >= want


def _applies(rule, goarch, caps):
    inc = rule.get("includes") or {}
    exc = rule.get("excludes") or {}
    if inc.get("arches") and goarch not in inc["arches"]:
        return False
    if any(c not in caps for c in inc.get("caps") or []):
        return False
    if inc.get("minKernel") and not _kernel_at_least(inc["minKernel"]):
        return False
    if goarch in (exc.get("arches") or []):
        return False
    if any(c in caps for c in exc.get("caps") or []):
        return False
    return True


def podman_profile(path=PODMAN_PROFILE, caps=PODMAN_DEFAULT_CAPS):
    """linux.seccomp as podman writes it into config.json."""
    with open(path) as f:
        src = json.load(f)
    goarch, native = _ARCHES[platform.machine()]
    out = {"defaultAction": src["defaultAction"]}
    if src.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = src["defaultErrnoRet"]
    for m in src.get("archMap") or []:
        if m["architecture"] == native:
            out["architectures"] = [native] + m.get("subArchitectures", [])
    if src.get("flags"):
        out["flags"] = src["flags"]
    out["syscalls"] = []
    for rule in src["syscalls"]:
        if not _applies(rule, goarch, caps):
            continue
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        r = {"names": names, "action": rule["action"]}
        if rule.get("errnoRet") is not None:
            r["errnoRet"] = rule["errnoRet"]
        if rule.get("args"):
            # Go's omitempty: podman leaves out a zero valueTwo.
            r["args"] = [{k: v for k, v in a.items() if not (k == "valueTwo" and v == 0)} for a in rule["args"]]
        out["syscalls"].append(r)
    return out


if __name__ == "__main__":
    if not os.path.exists(PODMAN_PROFILE):
        sys.exit(f"{PODMAN_PROFILE} is missing (install golang-github-containers-common)")
    json.dump(podman_profile(), sys.stdout, indent=1)
    sys.stdout.write("\n")
