#!/usr/bin/env bash
# Issue 11's benchmark, one command: training tokens/s of a job through the service (each job its own training
# process) against the bare TorchSharp loop (bench/RnnLmService.Bench/BareLoop.cs) at the same torch thread count and
# allocator settings, interleaved repetitions, medians; goal >= 0.9x at 1 and 2 threads. Plus the API process's peak
# RSS (VmHWM) while jobs train (it should not grow with the job: training state lives in the child).
# The service runs as users get it: the Release API with its defaults (starter model on, so a model is loaded for
# serving; in-process worker), RnnLm__Worker__TorchThreads=N, and deliberately WITHOUT GLIBC_TUNABLES in its own
# environment (as `dotnet run` or `dotnet RnnLmService.Api.dll` would be started): the worker passes them to the child.
# The bare loop gets the tunables scripts/run.sh sets, which is what the child runs with.
# The service's figure is the median of the job's step reports (each the tokens/s of 10 steps measured in the child),
# skipping the first three; the job is cancelled after --steps steps.
#   bench/train-process.sh [--reps 3] [--steps 150] [--threads "1 2"] [--port 8097]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

reps=3 steps=150 threads="1 2" port=8097
while (($#)); do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
need_corpus
dotnet build -c Release --nologo -v quiet "$REPO_DIR/src/Api/RnnLmService.Api.csproj" >&2
bench_build
url="http://127.0.0.1:$port"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$OUT_DIR/train-process-$stamp.jsonl"
log="$OUT_DIR/train-process-$stamp.log"
data="$OUT_DIR/train-process-data"
pid=0
trap service_stop EXIT

rm -rf "$data"  # a fresh store: the first start trains the starter model (in a training process), later starts load it
for t in $threads; do
  env -u GLIBC_TUNABLES RnnLm__DataDirectory="$data" RnnLm__Worker__TorchThreads="$t" ASPNETCORE_URLS="$url" \
    dotnet "$REPO_DIR/src/Api/bin/Release/net10.0/RnnLmService.Api.dll" >>"$log" 2>&1 &
  pid=$!
  # Ready = the store answers and the default (starter) model is loaded for serving.
  for _ in $(seq 600); do curl -fsS "$url/health/ready" >/dev/null 2>&1 && break; sleep 1; done
  curl -fsS "$url/health/ready" >/dev/null || { echo "the service did not get ready; see $log" >&2; exit 1; }
  dataset=$(curl -fsS -F name=kjv -F train=@"$KJV_DIR/train.txt" -F valid=@"$KJV_DIR/valid.txt" -F test=@"$KJV_DIR/test.txt" "$url/api/datasets" \
    | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  for r in $(seq "$reps"); do
    GLIBC_TUNABLES="$SERVICE_TUNABLES" bench_cli throughput "$KJV_DIR" contender=bare threads="$t" warmup=30 steps="$steps" | tee -a "$results"
    /usr/bin/python3 - "$url" "$dataset" "$t" "$steps" "$pid" <<'PY' | tee -a "$results"
import json, statistics, sys, time, urllib.request
url, dataset, threads, steps, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def call(path, body=None):
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(), method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r: return json.load(r)
def rss(key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key): return int(line.split()[1]) * 1024
job = call("/api/training-jobs", {"datasetId": dataset, "modelName": f"bench-t{threads}",
    "tokenizer": {"kind": "word", "lowercase": False, "splitPunctuation": False, "maxVocabularySize": 10000},
    "model": {"cellType": "lstm", "embeddingSize": 200, "hiddenSize": 200, "layers": 2, "dropout": 0.2, "tieWeights": True},
    "training": {"optimizer": "sgd", "learningRate": 20, "clip": 0.25, "epochs": 1, "batchSize": 20, "evalBatchSize": 10, "bptt": 35, "seed": 1111}})["id"]
speeds, cursor, rss_max, threads_seen = [], 0, 0, None
while True:
    page = call(f"/api/training-jobs/{job}/events?after={cursor}")
    for e in page.get("items", page.get("events", [])):
        cursor = max(cursor, e.get("id", e.get("cursor", 0)))
        d = e.get("data", e.get("payload", {}))
        if e.get("type") == "progress" and d.get("tokensPerSecond"): speeds.append((d["step"], d["tokensPerSecond"]))
        if e.get("type") == "process" and d.get("event") == "started": threads_seen = d.get("torchThreads")
    rss_max = max(rss_max, rss("VmRSS:"))
    if speeds and speeds[-1][0] >= steps + 30: break
    time.sleep(1)
call(f"/api/training-jobs/{job}/cancel", {})
while call(f"/api/training-jobs/{job}")["status"] not in ("cancelled", "succeeded", "failed"): time.sleep(0.5)
tps = [s for _, s in speeds[3:]] or [s for _, s in speeds]
print(json.dumps({"contender": "service-job", "threads": threads, "childTorchThreads": threads_seen, "reports": len(tps),
                  "tokensPerSecond": round(statistics.median(tps), 1), "apiRssMaxBytes": rss_max, "apiPeakRssBytes": rss("VmHWM:")}))
PY
  done
  service_stop
done

/usr/bin/python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for t in sorted({r["threads"] for r in rows}):
    bare = [r["tokensPerSecond"] for r in rows if r["threads"] == t and r["contender"].startswith("bare")]
    job = [r for r in rows if r["threads"] == t and r["contender"] == "service-job"]
    jt = [r["tokensPerSecond"] for r in job]
    b, s = statistics.median(bare), statistics.median(jt)
    print(f"threads {t}: bare {b:.0f} tok/s {bare}, service job {s:.0f} tok/s {jt} -> {s / b:.2f}x; "
          f"child reported torch threads {sorted({r['childTorchThreads'] for r in job})}; "
          f"API peak RSS {max(r['apiPeakRssBytes'] for r in job) / 2**20:.0f} MiB, RSS while training <= {max(r['apiRssMaxBytes'] for r in job) / 2**20:.0f} MiB")
print(f"rows: {sys.argv[1]}")
PY
