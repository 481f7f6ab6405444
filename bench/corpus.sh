#!/usr/bin/env bash
# The King James Bible (Debian's bible-kjv), one verse per line, normalised ONCE for every contender by the
# engine's WordTokenizer (lower-case, punctuation split, tokens joined by single spaces) and split
# contiguously 80/10/10 by lines into bench/out/kjv/{train,valid,test}.txt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if ! command -v bible >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bible-kjv >&2
fi
mkdir -p "$KJV_DIR"
bible -l10000 "Genesis1:1-Revelation22:21" | sed -nE 's/^ +[0-9]+ (.*)$/\1/p' > "$KJV_DIR/verses.txt"
verses=$(wc -l < "$KJV_DIR/verses.txt")
[[ "$verses" == 31102 ]] || { echo "expected 31102 verses, got $verses" >&2; exit 1; }

bench_build
bench_cli normalize "$KJV_DIR/verses.txt" "$KJV_DIR"
sha256sum "$KJV_DIR"/{train,valid,test}.txt | sed "s|$KJV_DIR/||" > "$KJV_DIR/SHA256SUMS"
cat "$KJV_DIR/SHA256SUMS" >&2
