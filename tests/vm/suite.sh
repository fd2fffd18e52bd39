#!/bin/sh
# The VM tier: runs INSIDE the pure cgroup-v2 VM (tests/vm/run.sh boots it).
# Every test checks an effect: a process killed, a fork refused, CPU time
# capped, writes throttled, a device refused -- not just a file written.
#
# Containers are made through olrun-cgdriver, which drives cgroup/ through
# its public API exactly as the runtime does: olrun_cgroup_create (limits
# and the device program applied), then clone3(CLONE_INTO_CGROUP).
set -u
: "${OLRUN_HELPERS:?}"
D=$OLRUN_HELPERS/olrun-cgdriver
CG=/sys/fs/cgroup
BASE=/olrun-vm
T=$(mktemp -d)
pass=0
fail=0

ok () { pass=$((pass + 1)); echo "PASS: $*"; }
bad () { fail=$((fail + 1)); echo "FAIL: $*"; }
# check DESCRIPTION COMMAND...: pass when the command succeeds.
check () { d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
res () { printf '%s\n' "$2" > "$T/$1.json"; }
ms () { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
stat_of () { $D stats "$BASE/$1" | awk -v k="$2" '$1 == k { print $2 }'; }
field () { awk -v k="$2" '$1 == k { print $2 }' "$CG$BASE/$1/$3"; }
gone () { [ ! -e "$CG$BASE/$1" ]; }
# run NAME RES [driver options] -- CMD...: the container's exit status.
run () { n=$1; r=$2; shift 2; $D run -p "$BASE/$n" -r "$T/$r.json" "$@" > "$T/$n.out" 2> "$T/$n.err"; }
# wait_for SECONDS CMD...: poll an effect that lags (processes starting).
wait_for () {
  s=$1; shift; i=0
  while [ $i -lt $((s * 10)) ]; do "$@" && return 0; sleep 0.1; i=$((i + 1)); done
  return 1
}

echo "kernel $(uname -r); controllers: $(cat $CG/cgroup.controllers); cpus: $(nproc)"

# ---- memory.limit: allocating past it is an OOM kill (137, oom_kill counted)
res mem '{"memory": {"limit": 33554432, "swap": 33554432}}'
run oom mem -k -- dd if=/dev/zero of=/dev/null bs=64M count=1
rc=$?
check "memory.limit: OOM-killed (exit $rc)" [ $rc -eq 137 ]
check "memory.limit: oom_kill counted ($(stat_of oom oom_kill))" [ "$(stat_of oom oom_kill)" -ge 1 ]
check "memory.limit: memory.max is 32 MiB" [ "$(cat $CG$BASE/oom/memory.max)" = 33554432 ]
check "memory.swap 32 MiB = memory+swap: memory.swap.max 0" [ "$(cat $CG$BASE/oom/memory.swap.max)" = 0 ]
$D destroy $BASE/oom

# ---- pids.limit: a fork bomb stops at the limit; destroy kills what is left
res pids '{"pids": {"limit": 8}}'
run pids pids -b -- sh -c 'i=0; while [ $i -lt 40 ]; do sleep 60 & i=$((i + 1)); done; sleep 60'
hit () { [ "$(field pids max pids.events)" -ge 1 ]; }
wait_for 20 hit
check "pids.limit: forks refused (pids.events max=$(field pids max pids.events))" hit
check "pids.limit: pids.current $(cat $CG$BASE/pids/pids.current) <= 8" [ "$(cat $CG$BASE/pids/pids.current)" -le 8 ]
check "ps: the pids listed are the cgroup's ($($D pids $BASE/pids | wc -l))" \
  [ "$($D pids $BASE/pids | wc -l)" -eq "$(cat $CG$BASE/pids/pids.current)" ]
$D destroy $BASE/pids
check "destroy with live processes removes the cgroup" gone pids

# ---- cpu.max: a busy loop gets no more than the quota, from cpu.stat
res cpu '{"cpu": {"quota": 20000, "period": 100000, "shares": 2048, "burst": 5000}}'
t0=$(ms)
run cpu cpu -k -- timeout 3 sh -c 'while :; do :; done'
t1=$(ms)
used=$(( $(stat_of cpu cpu_usage_ns) / 1000000 ))
wall=$((t1 - t0))
echo "cpu.max 20%: used ${used} ms of CPU in ${wall} ms"
check "cpu.max: used ${used} ms <= 30% of ${wall} ms" [ $used -le $((wall * 3 / 10 + 100)) ]
check "cpu.max: throttled ($(stat_of cpu cpu_throttled_periods) periods)" [ "$(stat_of cpu cpu_throttled_periods)" -ge 1 ]
check "cpu.shares 2048 -> cpu.weight 174" [ "$(cat $CG$BASE/cpu/cpu.weight)" = 174 ]
check "cpu.burst -> cpu.max.burst" [ "$(cat $CG$BASE/cpu/cpu.max.burst)" = 5000 ]
$D destroy $BASE/cpu

# ---- io.max on the scratch disk: 3 MiB of direct writes at 1 MiB/s
if [ -b /dev/vda ]; then
  mm=$(cat /sys/block/vda/dev); maj=${mm%:*}; min=${mm#*:}
  res io "{\"blockIO\": {\"throttleWriteBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 1048576}]},
           \"devices\": [{\"allow\": true, \"type\": \"b\", \"major\": $maj, \"minor\": $min, \"access\": \"rw\"}]}"
  t0=$(ms)
  run io io -k -- dd if=/dev/zero of=/dev/vda bs=256k count=12 oflag=direct
  rc=$?
  t1=$(ms)
  echo "io.max 1 MiB/s: 3 MiB written in $((t1 - t0)) ms; io.max: $(cat $CG$BASE/io/io.max)"
  check "io.max: dd succeeded (exit $rc)" [ $rc -eq 0 ]
  check "io.max: 3 MiB took $((t1 - t0)) ms >= 1500 ms" [ $((t1 - t0)) -ge 1500 ]
  wb=$($D stats $BASE/io | awk -v d="io $mm" 'index($0, d) == 1 { sub(/.*wbytes=/, ""); print $1 + 0 }')
  check "io.stat counts the writes (${wb:-0} bytes)" [ "${wb:-0}" -ge 3145728 ]
  $D destroy $BASE/io
else
  bad "io.max: no scratch disk /dev/vda"
fi

# ---- cpuset pinning
cpu=$(( $(nproc) - 1 ))
res cpuset "{\"cpu\": {\"cpus\": \"$cpu\", \"mems\": \"0\"}}"
run cpuset cpuset -- sh -c 'grep Cpus_allowed_list /proc/self/status'
check "cpuset: pinned to CPU $cpu ($(tr -s '\t' ' ' < $T/cpuset.out | grep Cpus))" \
  grep -q "Cpus_allowed_list:[[:space:]]*$cpu\$" "$T/cpuset.out"

# ---- devices: the eBPF program refuses open and mknod
mkdir -p "$T/dev" && mount -t tmpfs tmpfs "$T/dev"
res nodev '{}'
run dev1 nodev -- sh -c "head -c 1 /dev/mem > /dev/null"
check "devices: open /dev/mem refused by the default program" grep -q "Operation not permitted" "$T/dev1.err"
run dev2 nodev -- sh -c "head -c 1 /dev/zero > /dev/null && head -c 1 /dev/urandom > /dev/null"
check "devices: /dev/zero and /dev/urandom allowed (exit $?)" [ ! -s "$T/dev2.err" ]
res denyall '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "r"}]}'
run dev3 denyall -- sh -c "mknod $T/dev/mem c 1 1"
check "devices: deny-all config refuses mknod c 1:1" grep -q "Operation not permitted" "$T/dev3.err"
run dev4 denyall -- sh -c "mknod $T/dev/null c 1 3 && echo x > $T/dev/null"
check "devices: runc's defaults survive deny-all (mknod+write /dev/null)" [ ! -s "$T/dev4.err" ]
run dev5 denyall -- sh -c "dd if=/dev/kmsg of=/dev/null bs=8192 count=1 2>/dev/null && echo readok; echo x > /dev/kmsg"
check "devices: an r-only rule allows read, refuses write" \
  sh -c "grep -q readok $T/dev5.out && grep -q 'Operation not permitted' $T/dev5.err"
umount "$T/dev"

# ---- freeze / thaw / kill --all
res none '{}'
run frz none -b -- sleep 300
$D freeze $BASE/frz
check "freeze: cgroup.events frozen 1" [ "$(field frz frozen cgroup.events)" = 1 ]
pid=$(sed -n 's/^pid=//p' "$T/frz.out")
$D thaw $BASE/frz
check "thaw: cgroup.events frozen 0" [ "$(field frz frozen cgroup.events)" = 0 ]
$D kill $BASE/frz 9
check "kill --all: the process is gone" wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
$D destroy $BASE/frz

# ---- update: a new limit is written live, and it bites
res big '{"pids": {"limit": 100}, "memory": {"limit": 67108864}}'
run upd big -b -- sh -c "while [ ! -e $T/go ]; do sleep 0.1; done; i=0; while [ \$i -lt 20 ]; do sleep 60 & i=\$((i + 1)); done; sleep 60"
res small '{"pids": {"limit": 4}}'
$D update $BASE/upd "$T/small.json"
check "update: pids.max is 4 live" [ "$(cat $CG$BASE/upd/pids.max)" = 4 ]
touch "$T/go"
uhit () { [ "$(field upd max pids.events)" -ge 1 ]; }
wait_for 20 uhit
check "update: the new pids limit bites (pids.current $(cat $CG$BASE/upd/pids.current) <= 4)" \
  [ "$(cat $CG$BASE/upd/pids.current)" -le 4 ]
res tiny '{"memory": {"limit": 4096, "checkBeforeUpdate": true}}'
$D update $BASE/upd "$T/tiny.json" 2> "$T/upd.err"
check "update: memory.checkBeforeUpdate refuses a limit below usage" grep -q "below the current usage" "$T/upd.err"
check "update: the refused limit was not written" [ "$(cat $CG$BASE/upd/memory.max)" = 67108864 ]
$D destroy $BASE/upd

# ---- the other resources, as the kernel took them
nr=$(cat /proc/sys/vm/nr_hugepages)
echo 8 > /proc/sys/vm/nr_hugepages
res misc '{"memory": {"reservation": 1048576}, "blockIO": {"weight": 500}, "cpu": {"idle": 1},
           "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}], "unified": {"memory.high": "50000000"}}'
run misc misc -k -- $D hugetlb 4
rc=$?
check "hugepageLimits 2 huge pages: mapping 4 refused (exit $rc)" [ $rc -ne 0 ]
check "memory.reservation -> memory.low" [ "$(cat $CG$BASE/misc/memory.low)" = 1048576 ]
check "blockIO.weight 500 -> io.weight 4950" grep -q "default 4950" "$CG$BASE/misc/io.weight"
check "cpu.idle 1" [ "$(cat $CG$BASE/misc/cpu.idle)" = 1 ]
check "unified memory.high" [ "$(cat $CG$BASE/misc/memory.high)" = 49999872 ]
$D destroy $BASE/misc
res huge2 '{"hugepageLimits": [{"pageSize": "2MB", "limit": 8388608}]}'
run huge2 huge2 -- $D hugetlb 4
check "hugepageLimits 4 huge pages: mapping 4 allowed (exit $?)" [ -z "$(cat $T/huge2.err)" ]
echo "$nr" > /proc/sys/vm/nr_hugepages

# ---- bad input: a clear error, and no cgroup left behind
res neg '{"memory": {"limit": -5}}'
run bad1 neg -- true
check "negative limit refused, nothing left" sh -c "grep -q 'a negative limit' $T/bad1.err && [ ! -e $CG$BASE/bad1 ]"
res unk '{"unified": {"memory.bogus": "1"}}'
run bad2 unk -- true
check "unknown unified key refused, nothing left" sh -c "grep -q 'unknown key' $T/bad2.err && [ ! -e $CG$BASE/bad2 ]"
$D run -p "$BASE/../escape" -r "$T/none.json" -- true > /dev/null 2> "$T/bad3.err"
check "cgroupsPath with .. refused, nothing left" sh -c "grep -q 'not allowed' $T/bad3.err && [ ! -e $CG/escape ]"
res badtype '{"devices": [{"allow": true, "type": "q"}]}'
run bad4 badtype -- true
check "device rule with a bad type refused, nothing left" \
  sh -c "grep -q 'bad device type' $T/bad4.err && [ ! -e $CG$BASE/bad4 ]"

# ---- the smallest memory.limit that runs /bin/true
smallest=
for kib in 128 192 256 320 384 448 512 640 768 1024 2048 4096; do
  b=$((kib * 1024))
  res "m$kib" "{\"memory\": {\"limit\": $b, \"swap\": $b}}"
  if run "m$kib" "m$kib" -- /bin/true; then smallest=$kib; break; fi
done
echo "smallest memory.limit running /bin/true: ${smallest:-none} KiB"
check "memory.limit 512 KiB runs /bin/true (smallest: ${smallest:-none} KiB)" [ "${smallest:-9999}" -le 512 ]

rmdir $CG$BASE 2>/dev/null
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
