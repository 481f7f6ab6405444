#!/usr/bin/env bash
# Issue 15 item 7: 64 concurrent clients of mixed traffic against the service started as the README does
# (scripts/run.sh: Release build, its defaults, the starter model), with API keys configured, for --minutes.
# Passes with zero 5xx and the API's RSS after minute 2 within 10 % of its level at minute 2; prints latency
# percentiles per route. Run it under the bench lock: flock /tmp/rnnlm-bench.lock bench/soak.sh
# Usage: bench/soak.sh [--minutes 10] [--clients 64] [--port 8095] [--jobs 10] [--uploads 40] [--keys 64]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

minutes=10 clients=64 port=8095 jobs=10 uploads=40 nkeys=64
while (($#)); do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --uploads) uploads=$2; shift 2 ;;
    --keys) nkeys=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

url="http://127.0.0.1:$port"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
data="$OUT_DIR/soak-data"
log="$OUT_DIR/soak-service-$stamp.log"
out="$OUT_DIR/soak-$stamp.jsonl"
mkdir -p "$OUT_DIR"
rm -rf "$data"
bench_build

# One train key per client slot (the per-key rate limits are the defaults: each client is its own caller), one admin key.
key_env=() keys=()
for i in $(seq 0 $((nkeys - 1))); do
  key="soak-client-key-$i-0123456789abcdef"
  key_env+=("RnnLm__Auth__Keys__${i}__Name=soak$i" "RnnLm__Auth__Keys__${i}__Key=$key" "RnnLm__Auth__Keys__${i}__Role=train")
  keys+=("$key")
done
admin="soak-admin-key-0123456789abcdef"
key_env+=("RnnLm__Auth__Keys__${nkeys}__Name=soak-admin" "RnnLm__Auth__Keys__${nkeys}__Key=$admin" "RnnLm__Auth__Keys__${nkeys}__Role=admin")

# scripts/run.sh is `make run` without make: prerequisites, then `dotnet run -c Release` (which builds the API).
env "${key_env[@]}" RnnLm__DataDirectory="$data" URLS="$url" "$REPO_DIR/scripts/run.sh" >>"$log" 2>&1 &
runner=$!
api=0
cleanup() {
  ((api)) && kill -TERM "$api" 2>/dev/null || true
  kill -TERM "$runner" 2>/dev/null || true
  wait "$runner" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 600); do
  curl -fsS "$url/health/ready" >/dev/null 2>&1 && break
  kill -0 "$runner" 2>/dev/null || { echo "the service exited; see $log" >&2; exit 1; }
  sleep 1
done
curl -fsS "$url/health/ready" >/dev/null || { echo "the service was not ready after 600 s; see $log" >&2; exit 1; }
# `dotnet run` starts the app as its child: that is the process whose RSS counts.
api=$(pgrep -P "$runner" -f RnnLmService.Api | head -1)
[[ -n "$api" ]] || { echo "cannot find the API process under dotnet run ($runner)" >&2; exit 1; }
echo "service ready at $url (pid $api, log $log); soak for $minutes min with $clients clients" >&2

status=0
bench_cli soak "$url" minutes="$minutes" clients="$clients" jobs="$jobs" uploads="$uploads" pid="$api" admin="$admin" \
  keys="$(IFS=,; echo "${keys[*]}")" | tee "$out" || status=$?
echo "5xx in the service's request log: $(grep -c 'responded 5[0-9][0-9]' "$log" || true)" >&2
python3 "$BENCH_DIR/summarize-soak.py" "$out"
exit $status
