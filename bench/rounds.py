"""Time commands in interleaved rounds and print medians and ratios.

Usage: rounds.py TITLE RUNS CMD [CMD ...]   (each CMD one shell-free argv
string, split on spaces; the first is the reference unless one is crun)

hyperfine runs all iterations of one command before the next, so a burst
of load from a neighbour on a shared machine lands on one runtime only and
skews the ratio.  Here every round runs each command once, in an order
that rotates, and the ratio reported is the median of the per-round
ratios: both sides of each ratio saw the same moment of the machine.
"""
import os
import statistics
import subprocess
import sys
import time

WARMUP = 5


def name(cmd):
    argv = cmd.split()
    first = argv[2] if argv[0] == "sh" else argv[0]  # bench/cycle.sh RUNTIME ...
    return first.rsplit("/", 1)[-1]


def once(argv):
    t = time.perf_counter_ns()
    rc = subprocess.call(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dt = (time.perf_counter_ns() - t) / 1e6
    if rc != 0:
        sys.exit("command failed (exit %d): %s" % (rc, " ".join(argv)))
    return dt


def main():
    title, runs, cmds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    argvs = [c.split() for c in cmds]
    names = [name(c) for c in cmds]
    times = [[] for _ in cmds]
    for r in range(WARMUP + runs):
        order = list(range(len(cmds)))
        order = order[r % len(order):] + order[: r % len(order)]
        for i in order:
            dt = once(argvs[i])
            if r >= WARMUP:
                times[i].append(dt)
    ref = names.index("crun") if "crun" in names else 0
    for i, n in enumerate(names):
        t = sorted(times[i])
        med = statistics.median(t)
        iqr = t[(3 * len(t)) // 4] - t[len(t) // 4]
        ratio = statistics.median(a / b for a, b in zip(times[i], times[ref]))
        print("  %-6s median %7.2f ms  IQR %6.2f ms  %5.2fx %s (paired median)"
              % (n, med, iqr, ratio, names[ref]))
    sys.stdout.flush()


if __name__ == "__main__":
    os.environ.setdefault("LC_ALL", "C")
    main()
