#!/bin/sh
# The VM tier: runs INSIDE the pure cgroup-v2 VM (tests/vm/run.sh boots it).
# Every test checks an effect -- a process OOM-killed, a fork refused, CPU
# time capped, writes throttled, a device refused -- not just a file
# written.  Containers are busybox-static bundles run by the real
# `olrun run`; the host side reads the container's cgroup files.
set -u
: "${OLRUN:?}" "${OLRUN_HELPERS:?}"
D=$OLRUN_HELPERS/olrun-cgdriver
CG=/sys/fs/cgroup
BASE=/olrun-vm
T=$(mktemp -d)
O="$OLRUN --root $T/state"
pass=0
fail=0

ok () { pass=$((pass + 1)); echo "PASS: $*"; }
bad () { fail=$((fail + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: pass when the command succeeds.
check () { d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
ms () { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
cgf () { cat "$CG$BASE/$1/$2"; }
field () { awk -v k="$2" '$1 == k { print $2 }' "$CG$BASE/$1/$3"; }
gone () { [ ! -e "$CG$BASE/$1" ] && [ ! -e "$T/state/$1" ]; }
# wait_for SECONDS CMD...: poll an effect that lags (processes starting).
wait_for () {
  s=$1; shift; i=0
  while [ $i -lt $((s * 10)) ]; do "$@" && return 0; sleep 0.1; i=$((i + 1)); done
  return 1
}

# A read-only busybox rootfs shared by every bundle.
R=$T/rootfs
mkdir -p "$R/bin" "$R/proc" "$R/dev" "$R/tmp" "$R/sys"
cp /bin/busybox "$R/bin/"
for a in $("$R/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done

# bundle NAME RESOURCES ARGS-JSON [MORE-LINUX-JSON]: $T/b/NAME/config.json,
# the container's cgroup at $BASE/NAME.
bundle () {
  mkdir -p "$T/b/$1"
  cat > "$T/b/$1/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"args": $3, "cwd": "/", "env": ["PATH=/bin"]},
 "root": {"path": "$R", "readonly": true},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
           "cgroupsPath": "$BASE/$1", "resources": $2 ${4:+, $4}}}
EOF
}
# run NAME [olrun run options]: the container's exit status; output in
# $T/NAME.out and $T/NAME.err.
run () { n=$1; shift; $O run -b "$T/b/$n" "$@" "$n" > "$T/$n.out" 2> "$T/$n.err"; }
sh_c () { printf '["/bin/sh", "-c", "%s"]' "$1"; }

echo "kernel $(uname -r); controllers: $(cat $CG/cgroup.controllers); cpus: $(nproc)"

# ---- memory.limit: allocating past it is an OOM kill (137, oom_kill counted)
bundle oom '{"memory": {"limit": 33554432, "swap": 33554432}}' '["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]'
run oom --keep
rc=$?
check "memory.limit: OOM-killed (exit $rc)" [ $rc -eq 137 ]
check "memory.limit: oom_kill counted ($(field oom oom_kill memory.events))" [ "$(field oom oom_kill memory.events)" -ge 1 ]
check "memory.swap 32 MiB (memory+swap) -> memory.swap.max 0" [ "$(cgf oom memory.swap.max)" = 0 ]
$O delete oom
check "delete removes the cgroup and the state" gone oom

# ---- pids.limit: a fork bomb stops at the limit
# The forking shell is not pid 1: busybox sh exits when a fork fails, and
# the outer one then execs (no fork needed) so the container lives on.
bundle pids '{"pids": {"limit": 8}}' \
  "$(sh_c 'sh -c \"for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 60 & done\"; exec sleep 60')"
run pids -d
hit () { [ "$(field pids max pids.events)" -ge 1 ]; }
wait_for 20 hit
check "pids.limit: forks refused (pids.events max=$(field pids max pids.events))" hit
check "pids.limit: pids.current $(cgf pids pids.current) <= 8" [ "$(cgf pids pids.current)" -le 8 ]
n=$($O ps --format json pids | tr -cd ',' | wc -c)
check "ps --format json lists the cgroup's $(cgf pids pids.current) pids" [ $((n + 1)) -eq "$(cgf pids pids.current)" ]
$O events --stats pids > "$T/ev.json"
check "events --stats: pids.current in runc's format" grep -q "\"pids\":{\"current\":$(cgf pids pids.current),\"limit\":8}" "$T/ev.json"
$O delete -f pids
check "delete --force kills and removes the cgroup" gone pids

# ---- cpu.max: a busy loop gets no more than the quota, from cpu.stat.
# busybox timeout execs the command in its own process: keep it off pid 1,
# which ignores the SIGTERM meant to end it.
bundle cpu '{"cpu": {"quota": 20000, "period": 100000, "shares": 2048, "burst": 5000}}' \
  "$(sh_c "timeout 3 sh -c 'while :; do :; done'; true")"
t0=$(ms)
run cpu --keep
t1=$(ms)
used=$(( $(field cpu usage_usec cpu.stat) / 1000 ))
wall=$((t1 - t0))
echo "cpu.max 20%: used ${used} ms of CPU in ${wall} ms"
check "cpu.max: used ${used} ms <= 30% of ${wall} ms" [ $used -le $((wall * 3 / 10 + 100)) ]
check "cpu.max: throttled ($(field cpu nr_throttled cpu.stat) periods)" [ "$(field cpu nr_throttled cpu.stat)" -ge 1 ]
check "cpu.shares 2048 -> cpu.weight 174" [ "$(cgf cpu cpu.weight)" = 174 ]
check "cpu.burst -> cpu.max.burst" [ "$(cgf cpu cpu.max.burst)" = 5000 ]
$O delete cpu

# ---- io.max on the scratch disk: 3 MiB of direct writes at 1 MiB/s.
# /dev/vda comes in through linux.devices, which the device program allows.
if [ -b /dev/vda ]; then
  mm=$(cat /sys/block/vda/dev); maj=${mm%:*}; min=${mm#*:}
  bundle io "{\"blockIO\": {\"throttleWriteBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 1048576}]}}" \
    '["dd", "if=/dev/zero", "of=/dev/vda", "bs=256k", "count=12", "oflag=direct"]' \
    "\"devices\": [{\"path\": \"/dev/vda\", \"type\": \"b\", \"major\": $maj, \"minor\": $min}]"
  t0=$(ms)
  run io --keep
  rc=$?
  t1=$(ms)
  echo "io.max 1 MiB/s: 3 MiB written in $((t1 - t0)) ms; io.max: $(cgf io io.max)"
  check "io.max: dd succeeded (exit $rc) $(cat $T/io.err)" [ $rc -eq 0 ]
  check "io.max: 3 MiB took $((t1 - t0)) ms >= 1500 ms" [ $((t1 - t0)) -ge 1500 ]
  wb=$(awk -v d="$mm" '$1 == d { for (i = 2; i <= NF; i++) if ($i ~ /^wbytes=/) print substr($i, 8) }' "$CG$BASE/io/io.stat")
  check "io.stat counts the writes (${wb:-0} bytes)" [ "${wb:-0}" -ge 3145728 ]
  $O delete io
else
  bad "io.max: no scratch disk /dev/vda"
fi

# ---- cpuset pinning
cpu=$(( $(nproc) - 1 ))
bundle cpuset "{\"cpu\": {\"cpus\": \"$cpu\", \"mems\": \"0\"}}" '["grep", "Cpus_allowed_list", "/proc/self/status"]'
run cpuset
check "cpuset: pinned to CPU $cpu ($(tr -s '\t' ' ' < $T/cpuset.out))" grep -q "Cpus_allowed_list:[[:space:]]*$cpu$" "$T/cpuset.out"

# ---- devices: the eBPF program refuses open and mknod
bundle dev1 '{}' "$(sh_c 'mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem')"
run dev1
check "devices: open of a node the defaults do not list is refused" grep -q "Operation not permitted" "$T/dev1.err"
bundle dev2 '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rm"}]}' \
  "$(sh_c 'mknod /tmp/mem c 1 1; echo mknod=$?; mknod /tmp/null c 1 3 && echo x > /tmp/null && echo nullok; mknod /tmp/kmsg c 1 11 && dd if=/tmp/kmsg bs=8192 count=1 > /dev/null 2>&1 && echo readok; echo x > /tmp/kmsg')"
run dev2
check "devices: deny-all refuses mknod c 1:1" grep -q "mknod=1" "$T/dev2.out"
check "devices: runc's defaults survive deny-all (/dev/null)" grep -q nullok "$T/dev2.out"
check "devices: an rm rule allows read ($(tr '\n' ' ' < $T/dev2.out) $(tr '\n' ' ' < $T/dev2.err))" grep -q readok "$T/dev2.out"
check "devices: an rm rule refuses write" grep -q "Operation not permitted" "$T/dev2.err"

# ---- pause / resume / kill --all
bundle frz '{}' '["sleep", "300"]'
run frz -d
$O pause frz
check "pause: cgroup.events frozen 1" [ "$(field frz frozen cgroup.events)" = 1 ]
check "pause: state says paused" sh -c "$O state frz | grep -q '\"status\": \"paused\"'"
$O resume frz
check "resume: frozen 0 and running" sh -c "[ $(field frz frozen cgroup.events) = 0 ] && $O state frz | grep -q running"
$O kill --all frz 9
check "kill --all: the cgroup empties" wait_for 10 sh -c "grep -q 'populated 0' $CG$BASE/frz/cgroup.events"
$O delete frz

# ---- update: a new limit is written live, and it bites
bundle upd '{"pids": {"limit": 100}, "memory": {"limit": 67108864}}' \
  "$(sh_c 'trap \"go=1\" USR1; while [ -z \"$go\" ]; do sleep 0.1; done; sh -c \"for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 60 & done\"; exec sleep 60')"
run upd -d
$O update --pids-limit 4 upd
check "update: pids.max is 4 live" [ "$(cgf upd pids.max)" = 4 ]
check "update: saved in the state" grep -q '"limit": 4' "$T/state/upd/resources.json"
$O kill upd USR1
uhit () { [ "$(field upd max pids.events)" -ge 1 ]; }
wait_for 20 uhit
check "update: the new pids limit bites (pids.current $(cgf upd pids.current) <= 4)" [ "$(cgf upd pids.current)" -le 4 ]
echo '{"memory": {"limit": 4096, "checkBeforeUpdate": true}}' | $O update --resources - upd 2> "$T/upd.err"
check "update: memory.checkBeforeUpdate refuses a limit below usage" grep -q "below the current usage" "$T/upd.err"
check "update: the refused limit was not written" [ "$(cgf upd memory.max)" = 67108864 ]
$O update --memory 32m --cpu-share 512 upd
check "update --memory 32m --cpu-share 512: memory.max $(cgf upd memory.max), cpu.weight $(cgf upd cpu.weight)" \
  sh -c "[ $(cgf upd memory.max) = 33554432 ] && [ $(cgf upd cpu.weight) = 59 ]"
$O delete -f upd

# ---- the other resources, as the kernel took them
bundle misc '{"memory": {"reservation": 1048576}, "blockIO": {"weight": 500}, "cpu": {"idle": 1},
              "unified": {"memory.high": "50000000"}}' '["true"]'
run misc --keep
check "memory.reservation -> memory.low" [ "$(cgf misc memory.low)" = 1048576 ]
check "blockIO.weight 500 -> io.weight 4950" grep -q "default 4950" "$CG$BASE/misc/io.weight"
check "cpu.idle 1" [ "$(cgf misc cpu.idle)" = 1 ]
check "unified memory.high" [ "$(cgf misc memory.high)" = 49999872 ]
$O delete misc
# hugetlb: the static busybox cannot map huge pages, so olrun-cgdriver
# (the library without the rest of the runtime) maps them.
nr=$(cat /proc/sys/vm/nr_hugepages)
echo 8 > /proc/sys/vm/nr_hugepages
echo '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}' > "$T/huge.json"
$D run -p "$BASE/huge" -r "$T/huge.json" -- "$D" hugetlb 4 > /dev/null 2>&1
check "hugepageLimits 2 pages: mapping 4 refused (exit $?)" [ $? -ne 0 ]
$D run -p "$BASE/huge" -r "$T/huge.json" -- "$D" hugetlb 2 > /dev/null 2>&1
check "hugepageLimits 2 pages: mapping 2 allowed (exit $?)" [ $? -eq 0 ]
echo "$nr" > /proc/sys/vm/nr_hugepages

# ---- bad input: a clear error, and nothing left behind
badrun () { # NAME RESOURCES EXPECTED-WORDS [CGROUPSPATH-OVERRIDE]
  bundle "$1" "$2" '["true"]'
  [ -n "${4:-}" ] && sed -i "s|\"cgroupsPath\": \"[^\"]*\"|\"cgroupsPath\": \"$4\"|" "$T/b/$1/config.json"
  run "$1"
  rc=$?
  check "$1: refused (exit $rc): $(head -c 150 $T/$1.err)" sh -c "[ $rc -eq 1 ] && grep -q '$3' $T/$1.err"
  check "$1: nothing left" gone "$1"
}
badrun neg '{"memory": {"limit": -5}}' 'linux.resources.memory.limit: a negative limit'
badrun absurd '{"cpu": {"period": 10000000000}}' 'linux.resources.cpu.period: out of range'
badrun unk '{"unified": {"memory.bogus": "1"}}' 'unknown key `memory.bogus`'
badrun dotdot '{}' '`..` is not allowed' "$BASE/../escape"
check "dotdot: no cgroup outside" [ ! -e $CG/escape ]
badrun badtype '{"devices": [{"allow": true, "type": "q"}]}' 'devices\[0\].type: bad device type'

# ---- the smallest memory.limit that runs /bin/true through olrun
smallest=
for kib in 16 32 48 64 96 128 192 256 320 384 448 512 640 768 1024 2048 4096 8192; do
  b=$((kib * 1024))
  bundle "m$kib" "{\"memory\": {\"limit\": $b, \"swap\": $b}}" '["/bin/true"]'
  if run "m$kib"; then smallest=$kib; break; fi
  echo "memory.limit $kib KiB: $(head -c 200 $T/m$kib.err) (oom_kill in the log: $(dmesg | grep -c 'Memory cgroup out of memory'))"
done
echo "smallest memory.limit running /bin/true: ${smallest:-none} KiB"
check "memory.limit 512 KiB runs /bin/true (smallest: ${smallest:-none} KiB)" [ "${smallest:-9999}" -le 512 ]

rmdir $CG$BASE 2>/dev/null
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
