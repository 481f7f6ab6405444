#!/usr/bin/env bash
# Sums the outcome counters of every .trx file (one per test project) under a results directory and prints
#   N passed, N failed
# as its last line (failed counts failed, error, timeout and aborted tests). Exits 1 when any failed or none ran.
#   scripts/test-summary.sh <results-dir>
set -euo pipefail

dir=${1:?usage: $0 <results-dir>}
passed=0 failed=0 skipped=0 files=0

counter() { # <attribute> <Counters element>
  local v; v=$(grep -o " $1=\"[0-9]*\"" <<<"$2" | head -n1 | tr -dc '0-9' || true)
  echo "${v:-0}"
}

while IFS= read -r -d '' trx; do
  files=$((files + 1))
  c=$(grep -o '<Counters [^>]*>' "$trx" | head -n1 || true)
  passed=$((passed + $(counter passed "$c")))
  failed=$((failed + $(counter failed "$c") + $(counter error "$c") + $(counter timeout "$c") + $(counter aborted "$c")))
  skipped=$((skipped + $(counter notExecuted "$c")))
done < <(find "$dir" -name '*.trx' -print0 2>/dev/null)

[ "$skipped" -eq 0 ] || echo "($skipped skipped, from $files test result files)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ $((passed + failed)) -gt 0 ]
