#!/usr/bin/env bash
# Vocabulary efficiency on the KJV split (issue 13, items 3-4), the classic recipe (LSTM 2x200, dropout 0.2, BPTT 35,
# batch 20, SGD lr 20 /4 on plateaus, clip 0.25) with only the output layer or the tokenizer changed, one torch thread:
#   bench/vocab.sh adaptive-speed   [--reps 3] [--steps 100]   training tokens/s, full vs adaptive softmax, every train
#                                    word in the vocabulary (no cap), untied; interleaved reps, medians (~5 min)
#   bench/vocab.sh adaptive-quality [--epochs 1] [--train-lines N]   test perplexity of the same two after N epochs
#                                    (~2 x 5 min idle on the whole train split; --train-lines trains on its first N lines)
#   bench/vocab.sh bpe [--sizes "1000 4000 16000"] [--train-lines 8000] [--epochs 1]
#                                    bits per character of BPE at three vocabulary sizes and the word tokenizer (10k cap),
#                                    tied, trained on the first --train-lines lines of the train split (~8 min)
# --cutoffs "2000,10000" sets the adaptive softmax clusters. Runs with the service's GLIBC_TUNABLES (scripts/run.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

suite="${1:-}"; shift || true
reps=3 steps=100 epochs=1 sizes="1000 4000 16000" train_lines=8000 cutoffs="2000,10000" quality_lines=0
while (($#)); do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --train-lines) train_lines="$2"; quality_lines="$2"; shift 2 ;;
    --cutoffs) cutoffs="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
need_corpus
bench_build
export GLIBC_TUNABLES="$SERVICE_TUNABLES"
mkdir -p "$OUT_DIR"
results="$OUT_DIR/vocab-$suite-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
case "$suite" in
  adaptive-speed)
    for ((r = 1; r <= reps; r++)); do
      for c in full adaptive; do
        bench_cli vocab "$KJV_DIR" contender=$c tied=false cutoffs="$cutoffs" steps="$steps" warmup=20 | tee -a "$results"
      done
    done ;;
  adaptive-quality)
    for c in full adaptive; do
      bench_cli vocab "$KJV_DIR" contender=$c tied=false cutoffs="$cutoffs" epochs="$epochs" trainLines="${quality_lines}" | tee -a "$results"
    done ;;
  bpe)
    bench_cli vocab "$KJV_DIR" contender=word vocab=10000 epochs="$epochs" trainLines="$train_lines" | tee -a "$results"
    for v in $sizes; do
      bench_cli vocab "$KJV_DIR" contender=bpe vocab="$v" epochs="$epochs" trainLines="$train_lines" | tee -a "$results"
    done ;;
  *) echo "usage: bench/vocab.sh adaptive-speed|adaptive-quality|bpe [options]" >&2; exit 2 ;;
esac
echo "raw results: $results" >&2
/usr/bin/python3 "$BENCH_DIR/summarize.py" vocab "$results"
