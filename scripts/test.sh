#!/usr/bin/env bash
# What `make test` runs: prerequisites (libstdc++, PostgreSQL server binaries, python3-torch, chromium, Node.js with npm's openai, s3rver), a private PostgreSQL cluster for the
# store tests (RNNLM_TEST_POSTGRES), the whole solution's tests in Release, then one summary line
#   N passed, N failed
# Exits non-zero when a test failed, when none ran, or when the build failed. Extra arguments go to `dotnet test`.
set -euo pipefail

cd "$(dirname "$0")/.."
log() { echo "test: $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
  scripts/prereqs.sh postgres torch browser node s3
else
  scripts/prereqs.sh
  scripts/prereqs.sh postgres || log "no PostgreSQL server binaries: the tests that need PostgreSQL will skip."
  scripts/prereqs.sh torch || log "no python3-torch: the safetensors-in-PyTorch test will skip."
  scripts/prereqs.sh browser || log "no chromium: the browser tests will fail."
  scripts/prereqs.sh node || log "no Node.js or npm package openai: the JavaScript client test will fail."
  scripts/prereqs.sh s3 || log "no s3rver: the object-storage tests will fail."
fi
# Installed (or already there): the safetensors test must then run, not skip.
if /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then export RNNLM_TEST_TORCH=required; fi

results=.artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

trap 'scripts/pg-test-cluster.sh stop' EXIT
if conn=$(scripts/pg-test-cluster.sh start); then
  export RNNLM_TEST_POSTGRES="$conn"
  log "PostgreSQL test cluster: $conn"
elif [ "$(id -u)" -eq 0 ]; then
  log "could not start the PostgreSQL test cluster."; exit 1
else
  unset RNNLM_TEST_POSTGRES
  log "could not start a PostgreSQL test cluster: the tests that need PostgreSQL will skip."
fi

status=0
dotnet test RnnLmService.sln -c Release --nologo --logger trx --results-directory "$results" "$@" || status=$?

# One .trx per test project; fewer means a project's results are missing from the sum below.
projects=$(grep -l '<IsTestProject>true</IsTestProject>' tests/*/*.csproj | wc -l)
trx=$(find "$results" -name '*.trx' | wc -l)
[ "$trx" -ge "$projects" ] || log "warning: $trx result files for $projects test projects."

summary=0
scripts/test-summary.sh "$results" || summary=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$summary"
