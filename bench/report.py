"""Print a hyperfine JSON export as medians, spreads and ratios to crun."""
import json
import statistics
import sys

title, path = sys.argv[1], sys.argv[2]
results = json.load(open(path))["results"]


def name(cmd):
    first = cmd.split()[0]
    if first == "sh":  # bench/cycle.sh RUNTIME ...
        first = cmd.split()[2]
    base = first.rsplit("/", 1)[-1]
    return base


rows = []
for r in results:
    times = sorted(r["times"])
    q1, q3 = times[len(times) // 4], times[(3 * len(times)) // 4]
    rows.append((name(r["command"]), statistics.median(times) * 1000, (q3 - q1) * 1000))
ref = {n: m for n, m, _ in rows}.get("crun")
for n, med, iqr in rows:
    ratio = " %5.2fx crun" % (med / ref) if ref else ""
    print("  %-6s median %7.2f ms  IQR %6.2f ms %s" % (n, med, iqr, ratio))
