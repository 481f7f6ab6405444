#!/usr/bin/env bash
# Training through the service (issue 6, item 5): the classic run queued through a RUNNING service's API
# (dataset upload, training job, polling), against the same trainer run in-process by the bench console.
# bench/service.sh runs it against a service it starts. Run the service with the worker on and the same torch
# thread count (RnnLm__Worker__TorchThreads=1), the GLIBC_TUNABLES scripts/run.sh sets, and nothing else busy (bench/service.sh
# does all that). The direct run gets the same GLIBC_TUNABLES.
# --skip-direct only queues the job (e.g. to measure serving while a job trains, see bench/serving.sh).
#   bench/service-train.sh --url http://localhost:8080 [--epochs 1] [--model kjv-bench] [--skip-direct]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

url="" epochs=1 model=kjv-bench direct=true
while (($#)); do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --skip-direct) direct=false; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$url" ]] || { echo "usage: bench/service-train.sh --url URL [--epochs 1] [--model NAME]" >&2; exit 2; }
need_corpus
bench_build
results="$OUT_DIR/service-train-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
if $direct; then GLIBC_TUNABLES="$SERVICE_TUNABLES" bench_cli quality "$KJV_DIR" epochs="$epochs" threads=1 | tee -a "$results"; fi
bench_cli service-train "$url" "$KJV_DIR" epochs="$epochs" model="$model" | tee -a "$results"
$direct || exit 0
/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
direct = next(r for r in rows if r["contender"] == "trainer")
service = next(r for r in rows if r["contender"] == "service")
print(f"direct trainer: {direct['seconds']} s, test ppl {direct['testPpl']:.2f}")
print(f"through the service: job {service['jobSeconds']} s (client {service['clientSeconds']} s), test ppl {service['testPpl']}")
if service["jobSeconds"]:
    print(f"overhead: {100 * (service['jobSeconds'] / direct['seconds'] - 1):+.1f} % (job run time vs direct)")
PY
