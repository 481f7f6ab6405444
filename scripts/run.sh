#!/usr/bin/env bash
# What `make run` runs: the runtime prerequisite, then the API in Release on its embedded defaults (data directory
# ./data of the repository unless RnnLm__DataDirectory is set), listening on $URLS, else $ASPNETCORE_URLS, else http://127.0.0.1:5000. Extra arguments go to the app.
set -euo pipefail

cd "$(dirname "$0")/.."
scripts/prereqs.sh

# `dotnet run` starts the app in the project directory (src/Api): anchor the data directory at the repository.
export RnnLm__DataDirectory="${RnnLm__DataDirectory:-$PWD/data}"
# glibc: one malloc arena and freed memory kept in the heap, so training steps reuse their buffers instead of
# page-faulting them in afresh (3x faster training on the benchmark VM, bench/RESULTS.md). Must be set before the
# process starts; the worker returns the memory after each job. Same value as the Dockerfile and NativeMemory.RecommendedTunables.
export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295}"
urls=${URLS:-${ASPNETCORE_URLS:-http://127.0.0.1:5000}}
exec dotnet run --project src/Api -c Release --no-launch-profile -- --urls "$urls" "$@"
