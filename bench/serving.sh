#!/usr/bin/env bash
# Serving under load (issue 6, item 4) against a RUNNING service with a model loaded; the load generator is the
# bench console, a separate process speaking HTTP. bench/service.sh starts a service and runs this against it.
#   next-word: requests/s and p50/p90/p99 latency at concurrency 1, 8 and 64 (contexts of 20 words from the test split)
#   generate:  tokens/s for 1 and 16 concurrent streams of 100 and 400 new tokens (should grow linearly)
#   memory:    with --pid, the service's RSS before each run and its peak during it
# Batching on versus off: start the service twice (off: RnnLm__Serving__MaxBatchSize=1) and label the runs:
#   bench/serving.sh --url http://localhost:8080 --model kjv-bench --pid "$(pgrep -n -f RnnLmService.Api)" --label batching-on
#   bench/serving.sh ... --label batching-off
# The model can be trained through the service with bench/service-train.sh. Latency while a job trains:
#   bench/service-train.sh --url ... --skip-direct --model kjv-other & sleep 60
#   bench/serving.sh --url ... --kinds next-word --concurrency 1,8 --label during-training
#   bench/serving.sh --url URL [--model NAME] [--pid PID] [--label TEXT] [--seconds 20] [--warmup 3]
#                    [--kinds "next-word generate"] [--concurrency 1,8,64]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

url="" model=kjv-bench pid=0 label="" seconds=20 warmup=3 kinds="next-word generate" concurrency=1,8,64
while (($#)); do
  case "$1" in
    --url) url="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --pid) pid="$2"; shift 2 ;;
    --label) label="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --kinds) kinds="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$url" ]] || { echo "usage: bench/serving.sh --url URL [--model NAME] [--pid PID] [--label TEXT] [--seconds 20]" >&2; exit 2; }
need_corpus
bench_build
results="$OUT_DIR/serving-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
if [[ " $kinds " == *" next-word "* ]]; then
  bench_cli load next-word "$url" model="$model" pid="$pid" label="$label" concurrency="$concurrency" seconds="$seconds" warmup="$warmup" \
    contexts="$KJV_DIR/test.txt" words=20 | tee -a "$results"
fi
if [[ " $kinds " == *" generate "* ]]; then
  bench_cli load generate "$url" model="$model" pid="$pid" label="$label" streams=1,16 tokens=100,400 \
    contexts="$KJV_DIR/test.txt" words=20 | tee -a "$results"
fi
echo "raw results: $results" >&2
