#!/usr/bin/env python3
"""Markdown tables from a bench/soak.sh JSON-lines file: latency per route, memory per minute, then the summary (5xx, RSS)."""
import json
import sys

routes, memory, summary = [], [], None
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    row = json.loads(line)
    if row.get("benchmark") == "soak-route":
        routes.append(row)
    elif row.get("benchmark") == "soak-memory":
        memory.append(row)
    elif row.get("benchmark") == "soak-summary":
        summary = row

print("| route | requests | per s | statuses | p50 ms | p90 ms | p99 ms | max ms |")
print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
for r in sorted(routes, key=lambda r: -r["requests"]):
    statuses = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())
    print(f"| {r['route']} | {r['requests']} | {r['perSecond']} | {statuses} | {r['p50Ms']} | {r['p90Ms']} | {r['p99Ms']} | {r['maxMs']} |")
if memory:
    cols = ["rssMiB", "brkHeapRssMiB", "nativeHeapMiB", "nativeInUseMiB", "nativeFreeMiB", "sqliteMiB", "gcHeapMiB", "gcCommittedMiB",
            "stateCacheMiB", "stateCacheEntries", "tensors"]
    print()
    print("| minute | RSS | [heap] RSS | C heap | C in use | C freed, kept | SQLite | GC heap | GC committed | state cache | cache entries | live tensors |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m in memory:
        print(f"| {m['minute']} | " + " | ".join("" if m.get(c) is None else f"{m[c]:.0f}" for c in cols) + " |")
    print("(MiB except the counts; the last sample of each minute)")
if summary:
    print()
    for key in ["seconds", "requests", "serverErrors", "transportErrors", "jobsSubmitted", "jobsFinished", "uploads",
                "rssMiBPerMinute", "rssMiBAtMinute2", "rssFinalVsMinute2Percent", "rssLargestDeviationAfterMinute2Percent", "pass"]:
        print(f"- {key}: {summary.get(key)}")
