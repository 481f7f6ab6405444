#!/usr/bin/env bash
# Model quality on the KJV split: test perplexity of our Trainer and of the PyTorch reference after the same
# number of epochs of the same recipe (classic LSTM 2x200 tied, SGD lr 20 /4 on plateaus, clip 0.25, best
# validation model kept), and of interpolated modified Kneser-Ney n-gram models. Same tokens, same vocabulary
# (its hash is printed for each contender), same targets: every token of the test split cut into 10 streams
# except each stream's first, <eos> included.
#   bench/quality.sh [--epochs 6] [--orders "3"] [--threads 1] [--data bench/out/kjv] [--malloc tuned|default]
# --malloc tuned (the default here) only makes the runs faster; it does not change any number they report.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

epochs=6 orders="3" threads=1 data="" malloc=tuned
while (($#)); do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --orders) orders="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --malloc) malloc="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$data" ]]; then need_corpus; data="$KJV_DIR"; fi
need_pytorch
bench_build
if [[ $malloc == tuned ]]; then export GLIBC_TUNABLES="$TUNED_MALLOC"; else unset GLIBC_TUNABLES; fi

results="$OUT_DIR/quality-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
mkdir -p "$OUT_DIR"
echo "data $data, $epochs epochs, $threads thread(s), n-gram orders $orders" >&2
for order in $orders; do
  bench_cli kn "$data" order="$order" | tee -a "$results"
done
bench_cli quality "$data" epochs="$epochs" threads="$threads" | tee -a "$results"
/usr/bin/python3 "$BENCH_DIR/pytorch/word_lm.py" quality --data "$data" --epochs "$epochs" --threads "$threads" | tee -a "$results"
echo "raw results: $results" >&2
/usr/bin/python3 "$BENCH_DIR/summarize.py" quality "$results"
