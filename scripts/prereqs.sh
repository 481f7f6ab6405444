#!/usr/bin/env bash
# Installs what RnnLmService needs on a fresh Debian/Ubuntu machine, and only what is missing.
#   scripts/prereqs.sh           the runtime prerequisite (libstdc++ with GLIBCXX_3.4.32)
#   scripts/prereqs.sh postgres  also PostgreSQL server binaries (used by the test suite)
#   scripts/prereqs.sh torch     also Debian's python3-torch for /usr/bin/python3 (the safetensors export test loads it in PyTorch)
#   scripts/prereqs.sh browser   also Debian's chromium (the playground's browser tests drive it; no browser download)
#   scripts/prereqs.sh node      also Node.js and npm (Debian's, when missing) and the npm package openai the client tests run
#   scripts/prereqs.sh s3        also s3rver from npm in .tools/s3rver (the S3 server the object-storage tests start on loopback)
# Detection is by the symbol version TorchSharp's native library needs, not by distribution name.
set -euo pipefail

need_symbol="GLIBCXX_3.4.32"

log() { echo "prereqs: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else return 99; fi
}

libstdcxx_path() {
  # The libstdc++ the dynamic loader would pick.
  local p
  p=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64|libstdc\+\+\.so\.6 \(libc6,AArch64/ {print $NF; exit}')
  [ -n "$p" ] || p=$(ls /usr/lib/*/libstdc++.so.6 /usr/lib64/libstdc++.so.6 2>/dev/null | head -n1 || true)
  echo "$p"
}

has_symbol() {
  local lib; lib=$(libstdcxx_path)
  [ -n "$lib" ] && grep -aq "$need_symbol" "$lib"
}

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
}

ensure_libstdcxx() {
  if has_symbol; then return 0; fi
  log "libstdc++ at '$(libstdcxx_path)' lacks $need_symbol, which TorchSharp 0.107 (LibTorch 2.10) needs."
  if [ "$(id -u)" -ne 0 ]; then
    cat >&2 <<MSG
prereqs: run this script as root, or do by hand (Debian 12): add a Debian 13 'trixie' apt source
prereqs: pinned at priority 100 in /etc/apt/preferences.d, then 'apt-get install -t trixie libstdc++6'.
MSG
    exit 1
  fi
  if ! command -v apt-get >/dev/null; then
    log "no apt-get here: install a libstdc++6 from GCC 13 or newer by your distribution's means."; exit 1
  fi
  log "installing libstdc++6 from Debian 13 'trixie' (brings trixie's libc6 too), with the trixie source pinned at priority 100 so nothing else moves."
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  cat > /etc/apt/sources.list.d/trixie.sources <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: $keyring
SRC
  cat > /etc/apt/preferences.d/trixie-low <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  apt_updated=0; apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie libstdc++6 >/dev/null
  if has_symbol; then log "libstdc++ now provides $need_symbol."; else log "install finished but $need_symbol is still missing."; exit 1; fi
}

ensure_postgres() {
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then log "PostgreSQL server binaries missing: install Debian's 'postgresql' package."; exit 1; fi
  log "installing Debian's postgresql (server binaries for the job-store tests; no cluster is started)."
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  # Debian's package starts a default cluster; the tests run their own private one.
  (service postgresql stop >/dev/null 2>&1 || true)
}

ensure_torch() {
  # The system python explicitly: a pyenv python first on PATH would not see Debian's package.
  if /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then log "PyTorch missing for /usr/bin/python3: install Debian's 'python3-torch' package."; exit 1; fi
  log "installing Debian's python3-torch (the safetensors export test reads an exported model in PyTorch)."
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
  /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || { log "python3-torch installed but /usr/bin/python3 cannot import torch."; exit 1; }
}

ensure_chromium() {
  if [ -x "${RNNLM_CHROMIUM:-/usr/bin/chromium}" ]; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then log "chromium missing: install Debian's 'chromium' package (the browser tests need /usr/bin/chromium)."; exit 1; fi
  log "installing Debian's chromium (headless browser for the playground's browser tests)."
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

ensure_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then log "Node.js or npm missing: install Debian's 'nodejs' and 'npm' packages (the OpenAI JavaScript client test)."; exit 1; fi
    log "installing Debian's nodejs and npm (the OpenAI JavaScript client test)."
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  # The official client at the version package-lock.json pins, installed from the npm registry when it is not already there.
  local dir wanted have
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/Api.Tests/Clients/js"
  wanted=$(node -p "require('$dir/package-lock.json').packages['node_modules/openai'].version")
  have=$(node -p "try { require('$dir/node_modules/openai/package.json').version } catch { '' }")
  if [ "$have" = "$wanted" ]; then return 0; fi
  log "installing the npm package openai $wanted into $dir (npm ci)."
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

ensure_s3rver() {
  # A real S3-speaking server for the object-storage tests (tests/Shared/S3rverServer.cs starts it on 127.0.0.1),
  # installed from npm into the checkout's .tools/ (ignored by git), so nothing global changes.
  local dir; dir="$(cd "$(dirname "$0")/.." && pwd)/.tools/s3rver"
  if [ -f "$dir/node_modules/s3rver/bin/s3rver.js" ]; then return 0; fi
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then log "node and npm missing: install Debian's 'nodejs' and 'npm' packages (for s3rver, the tests' S3 server)."; exit 1; fi
    log "installing Debian's nodejs and npm (to run s3rver, the object-storage tests' S3 server)."
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  log "installing s3rver 3.7.1 from npm into $dir (the object-storage tests' S3 server)."
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error s3rver@3.7.1 >/dev/null
}

ensure_libstdcxx
for extra in "$@"; do
  case "$extra" in
    postgres) ensure_postgres ;;
    torch) ensure_torch ;;
    browser) ensure_chromium ;;
    node) ensure_node ;;
    s3) ensure_s3rver ;;
    *) log "unknown extra '$extra'"; exit 2 ;;
  esac
done
