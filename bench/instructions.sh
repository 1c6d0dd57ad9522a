#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per 16-byte masked text message, end to end (header, unmask,
# UTF-8, event), counted by callgrind: small_msg decodes K1 and then K2
# messages, and the difference in instructions over the difference in K
# leaves out everything that does not grow with K.
#   bench/instructions.sh [build dir]     (default: build-bench, from run.sh)
# Prints wsm's count, and wslay's (frame API plus the same UTF-8 check) when
# the benchmark was built with it. Needs valgrind.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build-bench"}
prog="$build/bench/small_msg"
k1=10000
k2=110000

# Configure once; build every time, so that the count is of the current source.
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DWSM_BUILD_BENCH=ON \
    -DWSM_BUILD_TESTS=OFF -DWSM_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" --target small_msg -j 2 >/dev/null
command -v valgrind >/dev/null 2>&1 || { echo "instructions.sh: needs valgrind" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count() { # decoder K -> instructions executed inside decode_<decoder>
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" \
    --toggle-collect="decode_$1*" "$prog" "$2" "$1" >/dev/null 2>"$tmp/log" ||
    { cat "$tmp/log" >&2; exit 1; }
  sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/out"
}

for who in wsm wslay; do
  if ! "$prog" 1 "$who" >/dev/null 2>&1; then
    continue # not built with this decoder
  fi
  i1=$(count "$who" $k1)
  i2=$(count "$who" $k2)
  awk -v w="$who" -v i1="$i1" -v i2="$i2" -v k1=$k1 -v k2=$k2 'BEGIN {
    printf "%-6s %.1f instructions per 16-byte message (K=%d: %d, K=%d: %d)\n",
           w, (i2 - i1) / (k2 - k1), k1, i1, k2, i2 }'
done
