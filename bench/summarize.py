"""Tables from the benchmark JSON lines: python3 summarize.py throughput|quality|ablation|vocab FILE."""
import json
import statistics
import sys


def throughput(rows):
    print(f"{'malloc':<8} {'threads':>7}  {'contender':<23} {'runs':>4}  {'tokens/s':>9}  {'tokens/cpu-s':>12}  {'vs bare (wall)':>14}  {'vs bare (cpu)':>13}")
    for m, t in sorted({(r.get("malloc", "default"), r["threads"]) for r in rows}):
        group = [r for r in rows if r["threads"] == t and r.get("malloc", "default") == m]
        med = {}
        for c in dict.fromkeys(r["contender"] for r in group):
            runs = [r for r in group if r["contender"] == c]
            med[c] = (statistics.median(r["tokensPerSecond"] for r in runs),
                      statistics.median(r["tokensPerCpuSecond"] for r in runs), len(runs))
        bare = next((v for c, v in med.items() if c.startswith("bare-torchsharp")), None)
        for c, (wall, cpu, n) in med.items():
            rw = f"{wall / bare[0]:.3f}" if bare else "-"
            rc = f"{cpu / bare[1]:.3f}" if bare else "-"
            print(f"{m:<8} {t:>7}  {c:<23} {n:>4}  {wall:>9.0f}  {cpu:>12.0f}  {rw:>14}  {rc:>13}")


def quality(rows):
    print(f"{'contender':<10} {'epochs':>6}  {'vocab':>5}  {'vocab hash':<16}  {'targets':>7}  {'valid ppl':>9}  {'test ppl':>9}  {'seconds':>8}")
    for r in rows:
        valid = r.get("bestValidPpl", r.get("validPpl"))
        print(f"{r['contender']:<10} {r.get('epochs', '-')!s:>6}  {r['vocab']:>5}  {r['vocabHash']:<16}  {r.get('testTargets', '-')!s:>7}  {valid:>9.2f}  {r['testPpl']:>9.2f}  {r['seconds']:>8}")
    if len({r["vocabHash"] for r in rows}) > 1:
        print("WARNING: the contenders built different vocabularies; the perplexities are not comparable")
    if len({r.get("testTargets") for r in rows}) > 1:
        print("WARNING: the contenders scored different numbers of test targets")


def ablation(rows):
    print("| row | parameters | steps | validations | stop | test ppl | best valid ppl | bits/char | tokens/s | wall s |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        bpc = r.get("testBitsPerCharacter")
        bpc = f"{bpc:.3f}" if bpc is not None else "pending"
        print(f"| {r['label']} | {r['parameters']:,} | {r['steps']:,} | {r['validations']} | {r['stopReason']} | {r['testPpl']:.2f} | "
              f"{r['bestValidPpl']:.2f} | {bpc} | {r['tokensPerSecond']:,.0f} | {r['seconds']:,.0f} |")
    if len({r["vocabHash"] for r in rows}) > 1:
        print("WARNING: the rows built different vocabularies; the perplexities are not comparable")


def vocab(rows):
    speed = [r for r in rows if r.get("mode") == "speed"]
    if speed:
        print(f"{'contender':<10} {'runs':>4}  {'tokens/s (median)':>17}  {'tokens/cpu-s (median)':>21}  {'vs full':>7}")
        med = {}
        for c in dict.fromkeys(r["contender"] for r in speed):
            runs = [r for r in speed if r["contender"] == c]
            med[c] = (statistics.median(r["tokensPerSecond"] for r in runs), statistics.median(r["tokensPerCpuSecond"] for r in runs), len(runs))
        for c, (wall, cpu, n) in med.items():
            ratio = f"{wall / med['full'][0]:.2f}" if "full" in med else "-"
            print(f"{c:<10} {n:>4}  {wall:>17.0f}  {cpu:>21.0f}  {ratio:>7}")
    quality_rows = [r for r in rows if r.get("mode") == "quality"]
    if quality_rows:
        print(f"{'contender':<10} {'vocab':>6}  {'train tokens':>12}  {'test ppl':>9}  {'bits/char':>9}  {'word ppl':>9}  {'params':>9}  {'MB':>6}  {'train s':>8}  {'tokens/s':>8}")
        for r in quality_rows:
            print(f"{r['contender']:<10} {r['vocab']:>6}  {r['trainTokens']:>12}  {r['testPpl']:>9.2f}  {r['testBpc']:>9.4f}  {r['testWordPpl']:>9.2f}"
                  f"  {r['parameters']:>9}  {r.get('modelBytes', r['parameterBytes']) / 1e6:>6.1f}  {r['trainingSeconds']:>8.0f}  {r['stepTokensPerSecondMedian'] or 0:>8.0f}")


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.startswith("{")]
    {"throughput": throughput, "quality": quality, "ablation": ablation, "vocab": vocab}[kind](rows)
