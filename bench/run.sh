#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the benchmark (Release, -O2, no -march) in build-bench/ and run it,
# pinned to one core when taskset exists. Arguments go to wsm_bench
# (--quick, --reps N, --filter NAME, --markdown, --mib N, --wslay-staged).
#   bench/run.sh [--native] [wsm_bench arguments]
# --native also builds a copy with -march=native (build-bench-native/) and
# runs it after the portable one, for comparison.
set -eu

# The peers are benchmark-only dependencies: install them when missing.
sh "$(dirname "$0")/deps.sh" libwslay-dev valgrind

root=$(cd "$(dirname "$0")/.." && pwd)
native=0
if [ "${1:-}" = "--native" ]; then
  native=1
  shift
fi

build() { # build dir, C flags for Release
  cmake -S "$root" -B "$1" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="$2" -DWSM_BUILD_BENCH=ON \
    -DWSM_BUILD_TESTS=OFF -DWSM_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$1" --target wsm_bench small_msg -j 2 >/dev/null
}

pin=""
if command -v taskset >/dev/null 2>&1; then
  # The last CPU: the one least likely to be busy with the shell and builds.
  cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
  pin="taskset -c $((cpus - 1))"
fi

build "$root/build-bench" "-O2 -DNDEBUG"
echo "== portable build (-O2)${pin:+, pinned: $pin}"
$pin "$root/build-bench/bench/wsm_bench" "$@"

if [ "$native" = 1 ]; then
  build "$root/build-bench-native" "-O2 -march=native -DNDEBUG"
  echo
  echo "== native build (-O2 -march=native)${pin:+, pinned: $pin}"
  $pin "$root/build-bench-native/bench/wsm_bench" "$@"
fi
