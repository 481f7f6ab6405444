#!/usr/bin/env python3
"""Markdown tables from a bench/soak.sh JSON-lines file: latency per route, then the summary (5xx, RSS)."""
import json
import sys

routes, summary = [], None
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    row = json.loads(line)
    if row.get("benchmark") == "soak-route":
        routes.append(row)
    elif row.get("benchmark") == "soak-summary":
        summary = row

print("| route | requests | per s | statuses | p50 ms | p90 ms | p99 ms | max ms |")
print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
for r in sorted(routes, key=lambda r: -r["requests"]):
    statuses = ", ".join(f"{k}: {v}" for k, v in r["statuses"].items())
    print(f"| {r['route']} | {r['requests']} | {r['perSecond']} | {statuses} | {r['p50Ms']} | {r['p90Ms']} | {r['p99Ms']} | {r['maxMs']} |")
if summary:
    print()
    for key in ["seconds", "requests", "serverErrors", "transportErrors", "jobsSubmitted", "jobsFinished", "uploads",
                "rssMiBPerMinute", "rssMiBAtMinute2", "rssFinalVsMinute2Percent", "rssLargestDeviationAfterMinute2Percent", "pass"]:
        print(f"- {key}: {summary.get(key)}")
