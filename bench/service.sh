#!/usr/bin/env bash
# Issue 6 items 4 and 5 in one command, against the real service started here from a Release build (fresh data
# directory under bench/out, SQLite, in-process worker, 1 torch thread for training and for inference, no starter model,
# the GLIBC_TUNABLES scripts/run.sh sets):
#   train:   bench/service-train.sh: the classic run for --epochs epochs, direct vs queued through the API (model kjv-bench)
#   on:      bench/serving.sh --label batching-on (next-word at 1/8/64 clients, generation 1/16 streams x 100/400 tokens, RSS)
#   during:  next-word at 1 and 8 clients while a second job trains in the same process (--label during-training)
#   off:     the service restarted with RnnLm__Serving__MaxBatchSize=1: bench/serving.sh --label batching-off
#   wait5ms: restarted with RnnLm__Serving__MaxBatchWait=00:00:00.005 (the default before 2026-11-28 was 5 ms; now 0,
#            which batches what queued while the last batch ran): next-word again, --label batching-wait-5ms
# --steps picks some of them (without train, the data directory and model of an earlier run are kept; --serving-only is
# every step but train); --tag appends to the labels. The service inherits this
# script's environment, so an A/B of a runtime setting is e.g.  DOTNET_gcServer=1 bench/service.sh --steps on --tag -gc1
#   bench/service.sh [--epochs 1] [--port 8089] [--seconds 20] [--steps "train on during off wait5ms"] [--tag TEXT]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

all_steps="train on during off wait5ms"
epochs=1 port=8089 seconds=20 steps="$all_steps" tag=""
while (($#)); do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --serving-only) steps="${all_steps#train }"; shift ;;
    --steps) steps="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
for s in $steps; do
  [[ " $all_steps " == *" $s "* ]] || { echo "unknown step $s (steps: $all_steps)" >&2; exit 2; }
done
service_build
url="http://127.0.0.1:$port"
data="$OUT_DIR/service-data"
step() { [[ " $steps " == *" $1 "* ]]; }
step train && rm -rf "$data"
log="$OUT_DIR/service-$(date -u +%Y%m%dT%H%M%SZ).log"
pid=0

start_service() { service_start "$@"; }
restart_service() {  # extra environment assignments, as start_service; then waits for the benchmark's model
  stop_service
  start_service "$@"
  wait_for_model kjv-bench
}
stop_service() { service_stop; }
trap stop_service EXIT
wait_for_model() { service_wait_model "$@"; }

start_service
if step train; then "$BENCH_DIR/service-train.sh" --url "$url" --epochs "$epochs" --model kjv-bench; fi
wait_for_model kjv-bench
if step on; then
  "$BENCH_DIR/serving.sh" --url "$url" --model kjv-bench --pid "$pid" --label "batching-on$tag" --seconds "$seconds"
fi
if step during; then
  "$BENCH_DIR/service-train.sh" --url "$url" --epochs 1 --model kjv-during --skip-direct >"$OUT_DIR/service-during-train.jsonl" &
  trainer=$!
  sleep 60 # past the dataset upload and into the job's first steps
  "$BENCH_DIR/serving.sh" --url "$url" --model kjv-bench --pid "$pid" --label "during-training$tag" --kinds next-word --concurrency 1,8 --seconds "$seconds"
  wait "$trainer"
fi
if step off; then
  restart_service RnnLm__Serving__MaxBatchSize=1
  "$BENCH_DIR/serving.sh" --url "$url" --model kjv-bench --pid "$pid" --label "batching-off$tag" --seconds "$seconds"
fi
if step wait5ms; then
  restart_service RnnLm__Serving__MaxBatchWait=00:00:00.005
  "$BENCH_DIR/serving.sh" --url "$url" --model kjv-bench --pid "$pid" --label "batching-wait-5ms$tag" --kinds next-word --seconds "$seconds"
fi
echo "results: $OUT_DIR/service-train-*.jsonl, $OUT_DIR/serving-*.jsonl; service log $log" >&2
