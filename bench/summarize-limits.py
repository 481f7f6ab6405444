#!/usr/bin/env python3
"""Medians of bench/serving-limits.sh's JSON lines and the ratios issue 12 asks for."""
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")
def pick(bench, key, **match):
    return med([r.get(key) for r in rows if r.get("benchmark") == bench and all(
        r.get(k) == v if isinstance(v, int) else str(r.get(k, "")).startswith(v) for k, v in match.items())])

bare_nw = pick("bare-next-word", "contextsPerSecond")
svc_nw = pick("next-word", "requestsPerSecond", concurrency=64, label="limits")
p99 = pick("next-word", "p99Ms", concurrency=64, label="limits")
svc_nw_nc = pick("next-word", "requestsPerSecond", concurrency=64, label="nocache")
bare_g16 = pick("bare-generate", "tokensPerSecond", streams=16)
bare_g1 = pick("bare-generate", "tokensPerSecond", streams=1)
svc_g16 = pick("generate", "tokensPerSecond", streams=16)
svc_g1 = pick("generate", "tokensPerSecond", streams=1)
cache = pick("typing", "requestsPerSecond", label="cache")
nocache = pick("typing", "requestsPerSecond", label="nocache")
long_rps = pick("long", "requestsPerSecond")
peaks = [r["rss"]["peakMb"] for r in rows if r.get("benchmark") == "long" and r.get("rss")]
starts = [r["rss"]["startMb"] for r in rows if r.get("benchmark") == "long" and r.get("rss")]
reps = len([r for r in rows if r.get("benchmark") == "bare-next-word"])
print(f"medians over {reps} interleaved repetition(s)")
have = lambda *xs: all(x == x for x in xs)   # NaN: that part was not run (--typing)
if have(bare_nw, svc_nw):
  print(f"| next-word, 64 clients, 20-word contexts | bare {bare_nw:.0f} contexts/s | service {svc_nw:.0f} req/s | {svc_nw / bare_nw:.2f}x bare (goal >= 0.7) | p99 {p99:.1f} ms |")
if have(bare_nw, svc_nw_nc):
  print(f"| next-word, 64 clients, no state cache | bare {bare_nw:.0f} contexts/s | service {svc_nw_nc:.0f} req/s | {svc_nw_nc / bare_nw:.2f}x bare |")
if have(bare_g16, svc_g16, svc_g1):
  print(f"| generation, 16 streams | bare {bare_g16:.0f} tok/s | service {svc_g16:.0f} tok/s | {svc_g16 / bare_g16:.2f}x bare (goal >= 0.7) | service 1 stream {svc_g1:.0f} tok/s: {svc_g16 / svc_g1:.1f}x (goal >= 5); bare 1 stream {bare_g1:.0f} |")
print("typing per rep (with / without cache): " + ", ".join(
    f"{c:.0f} / {n:.0f}" for c, n in zip(*[[r["requestsPerSecond"] for r in rows if r.get("benchmark") == "typing" and r.get("label", "").startswith(l)]
                                       for l in ("cache", "nocache")])))
print(f"| typing, 64 clients | with cache {cache:.0f} req/s | without {nocache:.0f} req/s | {cache / nocache:.2f}x (goal >= 3) |")
if peaks:
    print(f"| 32 clients x 20,000 characters | {long_rps:.1f} req/s | RSS at start {min(starts):.0f}-{max(starts):.0f} MB, peak {max(peaks):.0f} MB |")
