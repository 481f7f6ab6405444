#!/usr/bin/env bash
# Ablation of the article's training strategies (issue 13) on the KJV split at an equal time budget: the classic
# recipe, then each strategy added on top of the previous row, then the fast and quality presets. Every row is a job
# spec as POST /api/training-jobs takes it (preset + explicit fields, merged the same way), trained by the engine's
# Trainer (what the worker's job process runs) with training.maxMinutes = the budget, epochs unlimited; the run then
# validates, tests and reports. Prints test perplexity, tokens/s and wall time per row.
#   bench/ablation.sh [--budget 3] [--only classic,quality] [--parallel] [--threads 1] [--data bench/out/kjv]
# --parallel runs the selected rows side by side, one torch thread each (the two-hour comparison of the issue:
#   bench/ablation.sh --budget 120 --only classic,quality --parallel). Rows: classic adamw-cosine locked-dropout
#   weight-drop ar-tar nt-asgd variable-bptt fast quality; also quality-adamw (a candidate for the quality preset: its
#   model with lighter dropout, AdamW with warm-up and cosine decay over the budget; not in the default order), and
#   quality-adaptive / quality-adaptive-light (untied 400/400 with an adaptive softmax over the 10,000 words, [2000, 5000],
#   so a step costs about what classic's does; AWD dropouts at two strengths; SGD lr 30 with cosine decay to 2 % over the
#   budget; candidates measured in bench/RESULTS.md, not in the default order), and quality-cosine (the quality preset
#   with plain SGD decayed by a cosine to 2 % over the budget instead of NT-ASGD, so the rate is lowered before the end).
# --service trains the rows as jobs through the service instead (Release API, SQLite, in-process worker, each job in
#   its own training process, no starter model): with --parallel, RnnLm:Worker:Concurrency = the number of rows at one
#   torch thread each; otherwise one job at a time with --threads. The issue's goal as it asks for it:
#   flock /tmp/rnnlm-bench.lock bench/ablation.sh --service --budget 120 --only classic,quality --parallel
set -euo pipefail
source "$(dirname "$0")/lib.sh"

budget=3 only="" parallel=0 threads=1 data="" service=0 port=8093
while (($#)); do
  case "$1" in
    --budget) budget="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --parallel) parallel=1; shift ;;
    --threads) threads="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --service) service=1; shift ;;
    --port) port="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

# Each row adds one strategy to the row before it (the model fields and the training fields separately).
budgeted="\"epochs\": 1000, \"maxMinutes\": $budget"
locked='"lockedDropout": true, "inputDropout": 0.4, "hiddenDropout": 0.25, "outputDropout": 0.4, "embeddingDropout": 0.1'
declare -A rows=(
  [classic]="{\"preset\": \"classic\", \"training\": {$budgeted}}"
  [adamw-cosine]="{\"training\": {$budgeted, \"optimizer\": \"adamW\", \"weightDecay\": 0.01, \"schedule\": \"cosine\", \"warmupSteps\": 100}}"
  [locked-dropout]="{\"model\": {$locked}, \"training\": {$budgeted}}"
  [weight-drop]="{\"model\": {$locked, \"weightDrop\": 0.3}, \"training\": {$budgeted}}"
  [ar-tar]="{\"model\": {$locked, \"weightDrop\": 0.3}, \"training\": {$budgeted, \"activationRegularization\": 2, \"temporalActivationRegularization\": 1}}"
  [nt-asgd]="{\"model\": {$locked, \"weightDrop\": 0.3}, \"training\": {$budgeted, \"activationRegularization\": 2, \"temporalActivationRegularization\": 1, \"optimizer\": \"ntAsgd\", \"nonmonoInterval\": 2, \"patience\": 0}}"
  [variable-bptt]="{\"model\": {$locked, \"weightDrop\": 0.3}, \"training\": {$budgeted, \"activationRegularization\": 2, \"temporalActivationRegularization\": 1, \"optimizer\": \"ntAsgd\", \"nonmonoInterval\": 2, \"patience\": 0, \"variableBptt\": true, \"bptt\": 70}}"
  [fast]="{\"preset\": \"fast\", \"training\": {\"maxMinutes\": $budget}}"
  [quality]="{\"preset\": \"quality\", \"training\": {\"maxMinutes\": $budget}}"
  [quality-adamw]="{\"preset\": \"quality\", \"model\": {\"weightDrop\": 0.2, \"embeddingDropout\": 0.05, \"inputDropout\": 0.3, \"hiddenDropout\": 0.2, \"outputDropout\": 0.3}, \"training\": {\"maxMinutes\": $budget, \"optimizer\": \"adamW\", \"learningRate\": 0.003, \"weightDecay\": 0.01, \"schedule\": \"cosine\", \"warmupSteps\": 200, \"minLearningRateFraction\": 0.05}}"
  [quality-cosine]="{\"preset\": \"quality\", \"training\": {\"maxMinutes\": $budget, \"optimizer\": \"sgd\", \"schedule\": \"cosine\", \"minLearningRateFraction\": 0.02}}"
  [quality-adaptive]="{\"model\": {\"embeddingSize\": 400, \"hiddenSize\": 400, \"layers\": 2, \"tieWeights\": false, \"adaptiveSoftmaxCutoffs\": [2000, 5000], \"weightDrop\": 0.25, \"embeddingDropout\": 0.1, \"lockedDropout\": true, \"inputDropout\": 0.35, \"hiddenDropout\": 0.25, \"outputDropout\": 0.35}, \"training\": {\"maxMinutes\": $budget, \"epochs\": 1000, \"patience\": 0, \"optimizer\": \"sgd\", \"learningRate\": 30, \"clip\": 0.25, \"weightDecay\": 1.2e-6, \"bptt\": 70, \"variableBptt\": true, \"batchSize\": 20, \"activationRegularization\": 2, \"temporalActivationRegularization\": 1, \"schedule\": \"cosine\", \"minLearningRateFraction\": 0.02}}"
  [quality-adaptive-light]="{\"model\": {\"embeddingSize\": 400, \"hiddenSize\": 400, \"layers\": 2, \"tieWeights\": false, \"adaptiveSoftmaxCutoffs\": [2000, 5000], \"weightDrop\": 0.15, \"embeddingDropout\": 0.05, \"lockedDropout\": true, \"inputDropout\": 0.25, \"hiddenDropout\": 0.15, \"outputDropout\": 0.25}, \"training\": {\"maxMinutes\": $budget, \"epochs\": 1000, \"patience\": 0, \"optimizer\": \"sgd\", \"learningRate\": 30, \"clip\": 0.25, \"weightDecay\": 1.2e-6, \"bptt\": 70, \"variableBptt\": true, \"batchSize\": 20, \"activationRegularization\": 2, \"temporalActivationRegularization\": 1, \"schedule\": \"cosine\", \"minLearningRateFraction\": 0.02}}"
)
order=(classic adamw-cosine locked-dropout weight-drop ar-tar nt-asgd variable-bptt fast quality)
if [[ -n "$only" ]]; then IFS=, read -r -a order <<<"$only"; fi
for name in "${order[@]}"; do
  [[ -n "${rows[$name]:-}" ]] || { echo "unknown row '$name' (rows: ${!rows[*]})" >&2; exit 2; }
done

if [[ -z "$data" ]]; then need_corpus; data="$KJV_DIR"; fi
bench_build
export GLIBC_TUNABLES="$SERVICE_TUNABLES"   # what the service's job processes run with (scripts/run.sh)
mkdir -p "$OUT_DIR"
results="$OUT_DIR/ablation-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
echo "data $data, budget $budget min per row, rows ${order[*]}, $([[ $parallel == 1 ]] && echo "side by side, 1 thread each" || echo "one after another, $threads thread(s)")" >&2

run_row() { bench_cli recipe "$data" label="$1" threads="$2" spec="${rows[$1]}"; }
if [[ $service == 1 ]]; then
  corpus="$data"; data="$OUT_DIR/ablation-service-data"; url="http://127.0.0.1:$port"; log="$results.service.log"; pid=0
  rm -rf "$data"
  dotnet build -c Release --nologo -v quiet "$REPO_DIR/src/Api/RnnLmService.Api.csproj" >&2
  trap service_stop EXIT
  if [[ $parallel == 1 ]]; then concurrency=${#order[@]}; jobThreads=1; else concurrency=1; jobThreads=$threads; fi
  service_start RnnLm__Worker__Concurrency="$concurrency" RnnLm__Worker__TorchThreads="$jobThreads"
  specs=$(for name in "${order[@]}"; do printf '%s\t%s\n' "$name" "${rows[$name]}"; done)
  /usr/bin/python3 "$BENCH_DIR/service-jobs.py" "$url" "$corpus" "$budget" <<<"$specs" | tee -a "$results"
  service_stop
elif [[ $parallel == 1 ]]; then
  pids=()
  for name in "${order[@]}"; do
    run_row "$name" 1 >"$results.$name" & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  for name in "${order[@]}"; do cat "$results.$name" >>"$results"; rm -f "$results.$name"; done
else
  for name in "${order[@]}"; do run_row "$name" "$threads" | tee -a "$results"; done
fi
echo "raw results: $results" >&2
/usr/bin/python3 "$BENCH_DIR/summarize.py" ablation "$results"
