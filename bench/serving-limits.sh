#!/usr/bin/env bash
# Issue 12 in one command: the serving limits of the classic KJV model (LSTM 2x200, 10,000 words) against a bare
# TorchSharp loop doing the same work, one after the other on the same machine (never at the same time):
#   model:   trains kjv-bench through a service started here, unless bench/out/limits-data already has it
#            (--quick: 1 epoch at batch 80 with short valid/test splits: same shapes, ~4x fewer steps)
#   bare:    BareServing.cs with the service stopped: batched last-position next-word (20-word test contexts, batch =
#            MaxBatchSize 32) and batched generation with tensor-side sampling (1 and 16 streams), 1 torch thread
#   service: the service (Release, defaults, 1 inference thread, the launchers' GLIBC_TUNABLES), load from the bench
#            console (a separate process): next-word at 64 clients (requests/s, p99), generation 1 and 16 streams x 200
#            tokens, the "typing" load (64 clients, 3 -> 60 words one word at a time), 32 clients x 20,000-character
#            contexts with the service's RSS sampled
#   nocache: the service restarted with RnnLm__Serving__StateCacheBytes=0: the typing load and next-word at 64 again
# --reps N repeats bare and service interleaved (medians in bench/summarize-limits.py). Run it under the bench lock:
#   flock /tmp/rnnlm-bench.lock bench/serving-limits.sh [--reps 2] [--seconds 15] [--port 8091] [--quick] [--typing]
# --typing runs only the typing goal: per rep, the typing load with the cache, then without it (fresh services).
# The typing load is timed after 30 s of the same load: a fresh service spends its first ~20 s under full load also
# compiling its hot paths (.NET tiered JIT: 20 % of the service's CPU at 12-22 s, 3 % after 50 s, perf), which costs
# the CPU-bound cached run far more than the uncached one, whose bottleneck is the model thread.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

reps=2 seconds=15 port=8091 quick=false typing=false typing_warmup=30
while (($#)); do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --quick) quick=true; shift ;;
    --typing) typing=true; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
service_build
url="http://127.0.0.1:$port"
data="$OUT_DIR/limits-data"
log="$OUT_DIR/limits-service-$(date -u +%Y%m%dT%H%M%SZ).log"
results="$OUT_DIR/limits-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
pid=0

trap service_stop EXIT
model_dir() { ls -d "$data"/models/kjv-bench/* 2>/dev/null | sort -V | tail -1; }

# model
if [[ -z "$(model_dir)" ]]; then
  service_start
  if $quick; then
    short="$OUT_DIR/kjv-quick"; mkdir -p "$short"
    cp "$KJV_DIR/train.txt" "$short/"; head -300 "$KJV_DIR/valid.txt" > "$short/valid.txt"; head -300 "$KJV_DIR/test.txt" > "$short/test.txt"
    bench_cli service-train "$url" "$short" epochs=1 batch=80 model=kjv-bench | tee -a "$results"
  else
    bench_cli service-train "$url" "$KJV_DIR" epochs=1 model=kjv-bench | tee -a "$results"
  fi
  service_stop
fi
echo "model: $(model_dir)" >&2

for rep in $(seq "$reps"); do
  if $typing; then
    for setting in cache nocache; do
      if [[ $setting == cache ]]; then service_start; else service_start RnnLm__Serving__StateCacheBytes=0; fi
      service_wait_model kjv-bench
      bench_cli load typing "$url" model=kjv-bench pid="$pid" label="$setting-r$rep" concurrency=64 seconds="$seconds" \
        warmup="$typing_warmup" contexts="$KJV_DIR/test.txt" | tee -a "$results"
      service_stop
    done
    continue
  fi
  # bare: nothing else of ours running
  GLIBC_TUNABLES="$SERVICE_TUNABLES" bench_cli bare-serving "$(model_dir)" contexts="$KJV_DIR/test.txt" batch=32 streams=1,16 tokens=200 \
    seconds="$seconds" rep="$rep" | tee -a "$results"
  # service, defaults
  service_start; service_wait_model kjv-bench
  bench_cli load next-word "$url" model=kjv-bench pid="$pid" label="limits-r$rep" concurrency=64 seconds="$seconds" \
    contexts="$KJV_DIR/test.txt" words=20 | tee -a "$results"
  bench_cli load generate "$url" model=kjv-bench pid="$pid" label="limits-r$rep" streams=1,16 tokens=200 seconds="$seconds" \
    contexts="$KJV_DIR/test.txt" words=20 | tee -a "$results"
  bench_cli load typing "$url" model=kjv-bench pid="$pid" label="cache-r$rep" concurrency=64 seconds="$seconds" \
    warmup="$typing_warmup" contexts="$KJV_DIR/test.txt" | tee -a "$results"
  bench_cli load long "$url" model=kjv-bench pid="$pid" label="long-r$rep" concurrency=32 seconds=$((seconds * 2)) characters=20000 \
    contexts="$KJV_DIR/test.txt" | tee -a "$results"
  service_stop
  # the same typing load without the state cache
  service_start RnnLm__Serving__StateCacheBytes=0; service_wait_model kjv-bench
  bench_cli load typing "$url" model=kjv-bench pid="$pid" label="nocache-r$rep" concurrency=64 seconds="$seconds" \
    warmup="$typing_warmup" contexts="$KJV_DIR/test.txt" | tee -a "$results"
  # next-word again: the ~880 test contexts repeat within a run, so with the cache most answers above are cache hits
  bench_cli load next-word "$url" model=kjv-bench pid="$pid" label="nocache-r$rep" concurrency=64 seconds="$seconds" \
    contexts="$KJV_DIR/test.txt" words=20 | tee -a "$results"
  service_stop
done
/usr/bin/python3 "$BENCH_DIR/summarize-limits.py" "$results"
echo "raw results: $results; service log $log" >&2
