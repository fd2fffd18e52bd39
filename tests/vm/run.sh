#!/bin/sh
# make check-vm: boot ONE pure cgroup-v2 VM and run tests/vm/suite.sh in it.
# The VM (../shared/tools/vm-run.sh, QEMU) has every controller, a scratch
# disk (/dev/vda) for io.max, and the project shared at the same path.
set -eu
cd "$(dirname "$0")/../.."
vm=${VM_RUN:-}
for c in "$vm" ../shared/tools/vm-run.sh ../../shared/tools/vm-run.sh /work/shared/tools/vm-run.sh; do
  [ -n "$c" ] && [ -x "$c" ] && { vm=$c; break; }
done
if [ -z "$vm" ] || [ ! -x "$vm" ]; then
  echo "check-vm: vm-run.sh not found (set VM_RUN)" >&2
  exit 1
fi
: "${OLRUN:?}" "${OLRUN_HELPERS:?}"
exec "$vm" -D 64M -m 1G -t 420 -e "OLRUN=$OLRUN" -e "OLRUN_HELPERS=$OLRUN_HELPERS" sh tests/vm/suite.sh
