#!/usr/bin/env bash
# Training throughput of the classic configuration (LSTM 2x200, tied, dropout 0.2, BPTT 35, batch 20, vocab 10k,
# SGD lr 20, clip 0.25) on the KJV train split, three contenders side by side with the same torch thread count:
#   trainer          our Trainer, as the worker runs it (progress callback every 20 steps, cancellation checks)
#   bare-torchsharp  the same model and recipe in the plainest TorchSharp loop (the limit of our stack)
#   pytorch          bench/pytorch/word_lm.py on Debian's python3-torch with OpenBLAS
# Each run times --steps steps after --warmup untimed ones and prints one JSON line; the contenders are
# interleaved --reps times and the table shows medians.
# --malloc default runs with glibc's default allocator settings (what a user gets); tuned sets
# GLIBC_TUNABLES so that freed large buffers stay in the heap instead of going back to the OS
# (every step otherwise page-faults ~100 MB of fresh memory; see RESULTS.md). Both apply to all contenders.
# mallopt does the same from inside the process (glibc's mallopt at start; what the service could do itself),
# for the two TorchSharp contenders only.
#   bench/throughput.sh [--threads "1 2"] [--steps 200] [--warmup 40] [--reps 3] [--malloc "default tuned mallopt"]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

threads="1 2" steps=200 warmup=40 reps=3 malloc="default tuned mallopt"
while (($#)); do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --malloc) malloc="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

need_corpus
need_pytorch
bench_build
results="$OUT_DIR/throughput-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
run() {  # contender threads malloc -> one JSON line
  if [[ $1 == pytorch ]]; then
    /usr/bin/python3 "$BENCH_DIR/pytorch/word_lm.py" throughput --data "$KJV_DIR" --threads "$2" --warmup "$warmup" --steps "$steps"
  else
    bench_cli throughput "$KJV_DIR" contender="$1" threads="$2" warmup="$warmup" steps="$steps" mallopt="$([[ $3 == mallopt ]] && echo true || echo false)"
  fi
}
for m in $malloc; do
  for t in $threads; do
    for ((r = 1; r <= reps; r++)); do
      for c in trainer bare pytorch; do
        [[ $m == mallopt && $c == pytorch ]] && continue
        echo "malloc $m, threads $t, rep $r/$reps: $c" >&2
        if [[ $m == tuned ]]; then export GLIBC_TUNABLES="$TUNED_MALLOC"; else unset GLIBC_TUNABLES; fi
        run "$c" "$t" "$m" | sed "s/^{/{\"malloc\": \"$m\", /" | tee -a "$results"
      done
    done
  done
done
echo "raw results: $results" >&2
/usr/bin/python3 "$BENCH_DIR/summarize.py" throughput "$results"
