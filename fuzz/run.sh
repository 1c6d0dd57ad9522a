#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build the libFuzzer harnesses with Clang and run each one for SECONDS.
#
#   fuzz/run.sh [SECONDS [HARNESS...]]     (default: 60 seconds, every harness)
#
# Builds in its own folder (WSM_FUZZ_BUILD, default build-fuzz/ at the top of
# the tree) with -DWSM_BUILD_FUZZ=ON. Each harness starts from its committed
# corpus fuzz/corpus/<name>/ and dictionary fuzz/<name>.dict, and writes the
# inputs it finds to <build>/fuzz-corpus/<name>/ (never to the committed
# corpus), crash inputs to <build>/fuzz-artifacts/<name>/ and its log to
# <build>/fuzz-logs/<name>.log. Prints executions per second per harness, and
# exits non-zero if any harness crashed, hung or failed to build.
#
# Environment: CC (default clang), WSM_FUZZ_BUILD, WSM_FUZZ_JOBS (harnesses
# run at once, default 1), WSM_FUZZ_ARGS (more libFuzzer flags).

set -u

secs=${1:-60}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${WSM_FUZZ_BUILD:-$root/build-fuzz}
jobs=${WSM_FUZZ_JOBS:-1}

case $secs in
  ''|*[!0-9]*) echo "usage: $0 [SECONDS [HARNESS...]]" >&2; exit 2 ;;
esac

# Optimised with debug info, and without NDEBUG: assertions stay live.
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="${CC:-clang}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" \
  -DWSM_BUILD_FUZZ=ON -DWSM_BUILD_TESTS=OFF -DWSM_BUILD_EXAMPLES=OFF \
  -DWSM_SINGLE_HEADER=OFF -DWSM_INSTALL=OFF >"$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  echo "run.sh: cmake configure failed" >&2
  exit 1
}

if [ $# -gt 0 ]; then
  names=$*
else
  names=$(cat "$build/fuzz/harnesses.txt")
fi
for name in $names; do
  cmake --build "$build" --target "fuzz_$name" -j "${WSM_FUZZ_BUILD_JOBS:-4}" >/dev/null || {
    cmake --build "$build" --target "fuzz_$name" >&2
    echo "run.sh: fuzz_$name did not build (is the compiler Clang?)" >&2
    exit 1
  }
done

mkdir -p "$build/fuzz-logs"

run_one() {
  name=$1
  scratch=$build/fuzz-corpus/$name
  artifacts=$build/fuzz-artifacts/$name
  mkdir -p "$scratch" "$artifacts"
  set -- -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/"
  [ -f "$here/$name.dict" ] && set -- "$@" -dict="$here/$name.dict"
  # The first directory receives the new inputs; the committed one only seeds.
  # shellcheck disable=SC2086
  "$build/fuzz/fuzz_$name" "$@" ${WSM_FUZZ_ARGS:-} "$scratch" "$here/corpus/$name" \
    >"$build/fuzz-logs/$name.log" 2>&1
  echo $? >"$build/fuzz-logs/$name.rc"
}

# shellcheck disable=SC2086 # one harness name per word
set -- $names
while [ $# -gt 0 ]; do
  pids=
  i=0
  while [ $# -gt 0 ] && [ $i -lt "$jobs" ]; do
    echo "run.sh: fuzz_$1 for ${secs}s" >&2
    run_one "$1" &
    pids="$pids $!"
    i=$((i + 1))
    shift
  done
  for pid in $pids; do wait "$pid"; done
done

failed=0
printf '%-14s %-7s %12s %10s %8s\n' harness result execs exec/s cov
for name in $names; do
  log=$build/fuzz-logs/$name.log
  rc=$(cat "$build/fuzz-logs/$name.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  result=ok
  if [ "$rc" != 0 ]; then
    result=FAILED
    failed=1
  fi
  printf '%-14s %-7s %12s %10s %8s\n' "$name" "$result" "${execs:--}" "${speed:--}" "${cov:--}"
done
if [ $failed != 0 ]; then
  echo "run.sh: failures; see $build/fuzz-logs/ and the inputs in $build/fuzz-artifacts/" >&2
  exit 1
fi
