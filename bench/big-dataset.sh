#!/usr/bin/env bash
# Issue 16's benchmark (streamed datasets), one command: a 1 GB training corpus (the KJV train split of bench/out/kjv
# repeated with its verses shuffled, each repetition with its own seed; valid and test are KJV's own) uploaded to the
# service, prepared into token files by the job's training process and trained for 1,000 steps (training.maxSteps).
# Reports the peak RSS of every process involved (the API, and each job's training process sampled twice a second:
# VmRSS with its mapped-file part RssFile, and VmHWM), the preparation's throughput (MB/s of text, both passes), and
# the training tokens/s of jobs on the 1 GB dataset against the same jobs on the KJV corpus and the bare TorchSharp
# loop reading an in-memory tensor (bench/RnnLmService.Bench/BareLoop.cs) at the child's thread count, interleaved;
# and, in the bench console at the same thread count with the job's spec (the API defaults: untied LSTM 2x200, the
# default word tokenizer), the trainer on the KJV corpus read into memory (the in-memory path) against the same trainer
# on memory-mapped token files of KJV and of the 1 GB dataset (the files the jobs prepared, in the service's data).
# The service runs as users get it (`make run`): the Release API with its defaults (starter model, in-process worker,
# torch threads by core count) and the launcher's GLIBC_TUNABLES. The job is the classic recipe (the API's defaults).
#   bench/big-dataset.sh [--gb 1] [--steps 1000] [--reps 2] [--compare-steps 150] [--port 8098]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

gb=1 steps=1000 reps=2 compare_steps=150 port=8098
while (($#)); do
  case "$1" in
    --gb) gb="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --compare-steps) compare_steps="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
service_build
big="$OUT_DIR/big-$gb"
mkdir -p "$big"
if [[ ! -s "$big/train.txt" ]]; then
  echo "generating $gb GB of shuffled KJV verses in $big" >&2
  /usr/bin/python3 - "$KJV_DIR/train.txt" "$big/train.txt" "$gb" <<'PY'
import random, sys
verses = open(sys.argv[1], encoding="utf-8").read().splitlines(keepends=True)
target, written, rep = int(float(sys.argv[3]) * 10**9), 0, 0
with open(sys.argv[2] + ".tmp", "w", encoding="utf-8") as out:
    while written < target:
        random.Random(rep).shuffle(verses)
        chunk = "".join(verses)
        out.write(chunk)
        written += len(chunk.encode("utf-8"))
        rep += 1
import os; os.replace(sys.argv[2] + ".tmp", sys.argv[2])
PY
fi
cp -f "$KJV_DIR/valid.txt" "$KJV_DIR/test.txt" "$big/"

url="http://127.0.0.1:$port"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results="$OUT_DIR/big-dataset-$stamp.jsonl"
log="$OUT_DIR/big-dataset-$stamp.log"
data="$OUT_DIR/big-dataset-data"
pid=0
trap service_stop EXIT
rm -rf "$data"
env GLIBC_TUNABLES="$SERVICE_TUNABLES" RnnLm__DataDirectory="$data" ASPNETCORE_URLS="$url" \
  dotnet "$REPO_DIR/src/Api/bin/Release/net10.0/RnnLmService.Api.dll" >>"$log" 2>&1 &
pid=$!
for _ in $(seq 600); do curl -fsS "$url/health/ready" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "$url/health/ready" >/dev/null || { echo "the service did not get ready; see $log" >&2; exit 1; }
echo "service pid $pid ready (starter model trained); log $log" >&2

# Runs one job to its end (maxSteps) or cancels it after N steps, sampling the RSS of the API and of the job's process.
run_job() { /usr/bin/python3 "$BENCH_DIR/big_dataset_job.py" "$url" "$pid" "$@"; }

upload() { # name train valid test -> dataset id; prints a JSON line with the upload's time and the API's RSS
  /usr/bin/python3 - "$url" "$pid" "$@" <<'PY'
import json, subprocess, sys, threading, time
url, pid, name, train, valid, test = sys.argv[1:7]
def rss(key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key): return int(line.split()[1]) * 1024
peak, done = [0], [False]
def sample():
    while not done[0]: peak[0] = max(peak[0], rss("VmRSS:")); time.sleep(0.2)
threading.Thread(target=sample, daemon=True).start()
start = time.time()
out = subprocess.run(["curl", "-fsS", "-F", f"name={name}", "-F", f"train=@{train}", "-F", f"valid=@{valid}", "-F", f"test=@{test}", url + "/api/datasets"],
                     check=True, capture_output=True, text=True).stdout
seconds, done[0] = time.time() - start, True
d = json.loads(out)
print(json.dumps({"phase": "upload", "dataset": name, "id": d["id"], "bytes": d["bytes"], "seconds": round(seconds, 1),
                  "mbPerSecond": round(d["bytes"] / 1e6 / seconds, 1), "apiRssMaxBytes": peak[0]}))
PY
}

upload "big-$gb" "$big/train.txt" "$big/valid.txt" "$big/test.txt" | tee -a "$results"
big_id=$(tail -1 "$results" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
upload kjv "$KJV_DIR/train.txt" "$KJV_DIR/valid.txt" "$KJV_DIR/test.txt" | tee -a "$results"
kjv_id=$(tail -1 "$results" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

# The main run: prepare the 1 GB dataset and train maxSteps steps, to the published model.
run_job "$big_id" "big-main" max "$steps" | tee -a "$results"
run_job "$kjv_id" "kjv-prepare" cancel 1 >/dev/null   # prepares the KJV token files outside the timed runs
threads=$(grep '"label": "big-main"' "$results" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["childTorchThreads"])')

for r in $(seq "$reps"); do
  run_job "$big_id" "big-r$r" cancel "$compare_steps" | tee -a "$results"
  run_job "$kjv_id" "kjv-r$r" cancel "$compare_steps" | tee -a "$results"
  GLIBC_TUNABLES="$SERVICE_TUNABLES" bench_cli throughput "$KJV_DIR" contender=bare threads="$threads" warmup=30 steps="$compare_steps" | tee -a "$results"
  for source in memory kjv big; do   # the trainer as the job runs it (on its own thread), in memory vs token files
    case "$source" in memory) tokens=() ;; kjv) tokens=(tokens="$data/datasets/$kjv_id") ;; big) tokens=(tokens="$data/datasets/$big_id") ;; esac
    GLIBC_TUNABLES="$SERVICE_TUNABLES" bench_cli throughput "$KJV_DIR" contender=trainer thread=true tied=false tokenizer=default \
      threads="$threads" warmup=40 steps="$compare_steps" "${tokens[@]}" | sed "s/^{/{\"source\": \"$source\", /" | tee -a "$results"
  done
done
echo "--- $(uname -n), $(nproc) cores, $(date -u +%FT%TZ)" >&2
/usr/bin/python3 "$BENCH_DIR/big_dataset_job.py" summarize "$results" "$url" "$big_id"
echo "rows: $results" >&2
