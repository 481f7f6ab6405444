# Shared by the bench scripts: paths, and the bench console built once in Release and run as a dll.
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"
OUT_DIR="$BENCH_DIR/out"
KJV_DIR="$OUT_DIR/kjv"
BENCH_DLL="$BENCH_DIR/RnnLmService.Bench/bin/Release/net10.0/RnnLmService.Bench.dll"

bench_build() {
  dotnet build -c Release --nologo -v quiet "$BENCH_DIR/RnnLmService.Bench/RnnLmService.Bench.csproj" >&2
}

bench_cli() {
  dotnet "$BENCH_DLL" "$@"
}

need_corpus() {
  if [[ ! -s "$KJV_DIR/train.txt" ]]; then
    echo "no corpus in $KJV_DIR; running bench/corpus.sh first" >&2
    "$BENCH_DIR/corpus.sh"
  fi
}

# Debian's PyTorch 1.13 (python3-torch) with OpenBLAS (OpenMP build), not the reference BLAS.
need_pytorch() {
  local missing=()
  /usr/bin/python3 -c 'import torch' 2>/dev/null || missing+=(python3-torch)
  dpkg -s libopenblas0-openmp >/dev/null 2>&1 || missing+=(libopenblas0-openmp)
  if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

# glibc malloc settings that keep freed large buffers in the heap (no mmap per tensor, no trimming):
# LibTorch's per-step activations and gradients are then reused instead of page-faulted in afresh.
TUNED_MALLOC="glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295"

# What the service runs with (scripts/run.sh sets it, the Dockerfile too): the above plus one malloc arena, without
# which a training thread (the worker's) allocates from its own arena and faults its buffers in every step anyway.
SERVICE_TUNABLES="$(sed -n 's/^export GLIBC_TUNABLES="\${GLIBC_TUNABLES:-\(.*\)}"$/\1/p' "$REPO_DIR/scripts/run.sh")"

# The corpus, the prerequisites, the API in Release and the bench console: what a script that starts the service needs.
service_build() {
  need_corpus
  "$REPO_DIR/scripts/prereqs.sh" >&2
  dotnet build -c Release --nologo -v quiet "$REPO_DIR/src/Api/RnnLmService.Api.csproj" >&2
  bench_build
}

# The API of this checkout (Release build) on $url with its data in $data, output appended to $log, the settings of
# bench/service.sh (SQLite, in-process worker, 1 torch thread for training and inference, no starter model, the
# launchers' GLIBC_TUNABLES); extra environment assignments as arguments. Sets $pid; service_stop stops it.
service_start() {
  env GLIBC_TUNABLES="$SERVICE_TUNABLES" RnnLm__DataDirectory="$data" RnnLm__StarterModel=false RnnLm__Worker__TorchThreads=1 RnnLm__Serving__TorchThreads=1 \
    ASPNETCORE_URLS="$url" "$@" dotnet "$REPO_DIR/src/Api/bin/Release/net10.0/RnnLmService.Api.dll" >>"$log" 2>&1 &
  pid=$!
  for _ in $(seq 120); do
    curl -fsS "$url/health/live" >/dev/null 2>&1 && { echo "service pid $pid at $url (log $log)" >&2; return; }
    kill -0 "$pid" 2>/dev/null || { echo "the service exited; see $log" >&2; exit 1; }
    sleep 1
  done
  echo "the service did not become ready in 120 s; see $log" >&2; exit 1
}
service_stop() {
  if ((pid)) && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  pid=0
}
service_wait_model() {  # name: the registry loads a new version within its poll interval
  for _ in $(seq 60); do
    curl -fsS "$url/api/models/$1" >/dev/null 2>&1 && return
    sleep 1
  done
  echo "model $1 not served after 60 s" >&2; exit 1
}
