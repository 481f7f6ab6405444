#!/usr/bin/env bash
# What `make run` runs: the runtime prerequisite, then the API in Release on its embedded defaults (data directory
# ./data of the repository unless RnnLm__DataDirectory is set), listening on $URLS, else $ASPNETCORE_URLS, else http://127.0.0.1:5000. Extra arguments go to the app.
set -euo pipefail

cd "$(dirname "$0")/.."
scripts/prereqs.sh

# `dotnet run` starts the app in the project directory (src/Api): anchor the data directory at the repository.
export RnnLm__DataDirectory="${RnnLm__DataDirectory:-$PWD/data}"
urls=${URLS:-${ASPNETCORE_URLS:-http://127.0.0.1:5000}}
exec dotnet run --project src/Api -c Release --no-launch-profile -- --urls "$urls" "$@"
