#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for the test suite.
#   scripts/pg-test-cluster.sh start   initdb in a fresh temp dir, listen on 127.0.0.1 at the first free port from
#                                      $PG_TEST_PORT (default 55432), trust auth on loopback; prints the connection
#                                      string (Host=127.0.0.1;Port=...;Username=postgres;Database=postgres) on stdout
#   scripts/pg-test-cluster.sh stop    stops it and deletes its directory (a no-op when none is running)
# The cluster's directory is recorded in .artifacts/pg-test-cluster of this checkout, so several checkouts on one
# machine each get their own. PostgreSQL refuses to run as root: as root, the server runs as the 'postgres' user.
set -euo pipefail

cd "$(dirname "$0")/.."
state=.artifacts/pg-test-cluster
first_port=${PG_TEST_PORT:-55432}

log() { echo "pg-test-cluster: $*" >&2; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$d" ] && command -v pg_config >/dev/null; then d=$(pg_config --bindir); fi
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    log "PostgreSQL server binaries (initdb, pg_ctl) not found: run 'scripts/prereqs.sh postgres' as root."
    return 1
  fi
  echo "$d"
}

# Runs a PostgreSQL binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local bin dir port
  bin=$(pg_bin)
  if [ -f "$state" ]; then stop; fi
  mkdir -p "$(dirname "$state")"
  dir=$(mktemp -d "${TMPDIR:-/tmp}/rnnlm-pg.XXXXXX")
  echo "$dir" > "$state"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { log "initdb failed:"; cat "$dir/initdb.log" >&2; return 1; }

  for port in $(seq "$first_port" $((first_port + 50))); do
    port_in_use "$port" && continue
    # Loopback TCP only; the unix socket lives in the cluster's own directory; durability off, it is thrown away.
    if as_owner "$bin/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w -t 30 -s \
         -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
      echo "$port" > "$dir/port"
      if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -t 10; then
        log "server started but does not answer on 127.0.0.1:$port"; return 1
      fi
      echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
      return 0
    fi
    grep -q "already in use" "$dir/server.log" 2>/dev/null || { log "pg_ctl start failed:"; tail -n 20 "$dir/server.log" >&2; return 1; }
  done
  log "no free port in $first_port..$((first_port + 50))"; return 1
}

stop() {
  [ -f "$state" ] || return 0
  local dir bin; dir=$(cat "$state")
  if [ -d "$dir/data" ] && [ -f "$dir/data/postmaster.pid" ]; then
    bin=$(pg_bin)
    as_owner "$bin/pg_ctl" stop -D "$dir/data" -m fast -w -t 30 -s >/dev/null 2>&1 || log "pg_ctl stop failed (see $dir/server.log)"
  fi
  case "$dir" in */rnnlm-pg.*) rm -rf "$dir" ;; esac
  rm -f "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
