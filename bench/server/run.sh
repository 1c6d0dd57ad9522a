#!/bin/sh
# SPDX-License-Identifier: MIT
# Server CPU per echoed message and memory per idle connection:
# examples/echo_server (wsm, with --batch-us 50 and with its defaults) against
# echo servers on libwebsockets and wslay,
# driven over 127.0.0.1 by bench/server/loadgen (plain sockets, no wsm).
#
#   bench/server/run.sh [--reps N] [--seconds S] [--idle N] [--quick]
#                       [--workloads "small medium large stream stream8"]
#
# Builds (Release, -O2) into build-bench-server/. Each measurement starts a
# fresh server pinned to the last CPU and the load generator pinned to the
# first; the load generator reads the server's utime + stime from
# /proc/PID/stat at the start and end of its window and divides by the
# messages echoed in it. CPU time, not wall time, so other load on the machine
# disturbs the numbers little. Workloads and servers are interleaved (the
# server order rotates every repetition) and the median is reported.
# Memory: resident set after N idle connections (handshake done) minus the
# resident set before the first, over N. Needs libwebsockets-dev,
# libwslay-dev and libssl-dev (benchmark-only dependencies).
set -eu

# The peers are benchmark-only dependencies: install them when missing.
sh "$(dirname "$0")/../deps.sh" libwebsockets-dev libwslay-dev libssl-dev

root=$(cd "$(dirname "$0")/../.." && pwd)
build="$root/build-bench-server"
reps=7
seconds=2
warmup=0.5
idle=10000
workloads="small medium large stream stream8"
while [ $# -gt 0 ]; do
  case "$1" in
  --reps) reps=$2; shift 2 ;;
  --seconds) seconds=$2; shift 2 ;;
  --idle) idle=$2; shift 2 ;;
  --quick) reps=1; seconds=1; idle=2000; shift ;;
  --workloads)
    for w in $2; do
      case "$w" in small | medium | large | stream | stream8) ;;
      *) echo "unknown workload: $w (small medium large stream stream8)" >&2; exit 2 ;;
      esac
    done
    workloads=$2
    shift 2 ;;
  *) echo "usage: $0 [--reps N] [--seconds S] [--idle N] [--quick] [--workloads LIST]" >&2
     exit 2 ;;
  esac
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DWSM_BUILD_BENCH=ON \
  -DWSM_BUILD_EXAMPLES=ON -DWSM_BUILD_TESTS=OFF -DWSM_SINGLE_HEADER=OFF \
  -DWSM_INSTALL=OFF >/dev/null
cmake --build "$build" --target wsm_example_echo_server loadgen lws_echo wslay_echo \
  -j 2 >/dev/null
loadgen="$build/bench/server/loadgen"
server_bin() {
  case "$1" in
  wsm | wsm0) echo "$build/examples/echo_server" ;;
  lws) echo "$build/bench/server/lws_echo" ;;
  wslay) echo "$build/bench/server/wslay_echo" ;;
  esac
}

# Server on the last CPU, load generator on the first.
cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
pin_srv=""
pin_gen=""
if command -v taskset >/dev/null 2>&1 && [ "$cpus" -ge 2 ]; then
  pin_srv="taskset -c $((cpus - 1))"
  pin_gen="taskset -c 0"
fi

# Room for the idle connections (a socket on each side).
# shellcheck disable=SC3045 # dash and bash both have ulimit -H and -n
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((idle + 64)) ]; then
  idle=$((hard - 64))
  echo "note: ulimit -Hn is $hard: measuring $idle idle connections" >&2
fi
# The workloads open up to 500 connections.
fds=$((idle > 1000 ? idle : 1000))
# shellcheck disable=SC3045
ulimit -n $((fds + 64))

tmp=$(mktemp -d)
spid=""
cleanup() {
  if [ -n "$spid" ]; then kill -9 "$spid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# wsm: echo_server waiting up to 50 µs for more completions when a wake-up
# brought few (io_uring); wsm0: echo_server as it starts by default.
server_args() {
  case "$1" in
  wsm) echo "--batch-us 50" ;;
  esac
}

start_server() { # name: sets spid and sport
  # shellcheck disable=SC2046 # the arguments are words
  $pin_srv "$(server_bin "$1")" --port 0 $(server_args "$1") >"$tmp/listen" 2>/dev/null &
  spid=$!
  sport=""
  for _ in $(seq 50); do
    sport=$(sed -n 's|^listening on ws://.*:\([0-9]*\)/$|\1|p' "$tmp/listen")
    [ -n "$sport" ] && break
    sleep 0.1
  done
  [ -n "$sport" ] || { echo "$1 server did not start" >&2; exit 1; }
}

stop_server() {
  kill "$spid" 2>/dev/null || true
  for _ in $(seq 30); do
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  spid=""
}

rss_kb() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }

wl_args() {
  case "$1" in
  small) echo "--conns 100 --size 20" ;;
  medium) echo "--conns 500 --size 512" ;;
  large) echo "--conns 100 --size 16384 --binary" ;;
  stream) echo "--conns 1 --size 1048576 --binary --depth 2" ;;
  stream8) echo "--conns 1 --size 1048576 --binary --depth 8" ;;
  esac
}
wl_name() {
  case "$1" in
  small) echo "100 conns x 20 B text" ;;
  medium) echo "500 conns x 512 B text" ;;
  large) echo "100 conns x 16 KiB binary" ;;
  stream) echo "1 conn streaming 1 MiB binary, 2 in flight" ;;
  stream8) echo "1 conn streaming 1 MiB binary, 8 in flight" ;;
  esac
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
: >"$tmp/results"
rep=1
while [ "$rep" -le "$reps" ]; do
  case $((rep % 3)) in
  1) order="wsm lws wsm0 wslay" ;;
  2) order="lws wsm0 wslay wsm" ;;
  0) order="wslay wsm lws wsm0" ;;
  esac
  for w in $workloads; do
    for s in $order; do
      start_server "$s"
      # shellcheck disable=SC2046
      line=$($pin_gen "$loadgen" --port "$sport" --pid "$spid" $(wl_args "$w") \
        --warmup "$warmup" --seconds "$seconds") || { echo "loadgen failed: $s $w" >&2; exit 1; }
      stop_server
      us=$(echo "$line" | sed -n 's/.*us_per_message=\([0-9.]*\).*/\1/p')
      msgs=$(echo "$line" | sed -n 's/.*messages=\([0-9]*\).*/\1/p')
      ticks=$(echo "$line" | sed -n 's/.*cpu_ticks=\([0-9]*\).*/\1/p')
      sys=$(echo "$line" | sed -n 's/.*sys_ticks=\([0-9]*\).*/\1/p')
      hz=$(echo "$line" | sed -n 's/.*hz=\([0-9]*\).*/\1/p')
      # server workload us/msg messages kernel-share repetition busy (CPU time / window)
      printf '%s %s %s %s %s %s %s\n' "$s" "$w" "$us" "$msgs" \
        "$(awk -v a="$sys" -v b="$ticks" 'BEGIN { print (b > 0) ? a / b : 0 }')" "$rep" \
        "$(awk -v t="$ticks" -v h="$hz" -v s="$seconds" 'BEGIN { print (h > 0) ? t / (h * s) : 0 }')" \
        >>"$tmp/results"
      printf 'rep %d/%d  %-5s %-6s %10s us/msg  (%s messages)\n' "$rep" "$reps" "$s" "$w" \
        "$us" "$msgs" >&2
    done
  done
  rep=$((rep + 1))
done

# Memory per idle connection (--idle 0 skips it).
measure_idle() { # server: appends "server rss0 rss1" to $tmp/memory, or fails
  start_server "$1"
  sleep 0.2
  rss0=$(rss_kb "$spid")
  $pin_gen timeout 120 "$loadgen" --port "$sport" --idle "$idle" >"$tmp/idle" &
  gpid=$!
  for _ in $(seq 1200); do
    grep -q ready "$tmp/idle" && break
    kill -0 "$gpid" 2>/dev/null || break
    sleep 0.1
  done
  ok=0
  grep -q ready "$tmp/idle" && ok=1
  rss1=$(rss_kb "$spid")
  kill "$gpid" 2>/dev/null || true
  wait "$gpid" 2>/dev/null || true
  stop_server
  [ "$ok" = 1 ] || return 1
  echo "$1 $rss0 $rss1" >>"$tmp/memory"
  echo "idle  $1: RSS $rss0 kB -> $rss1 kB" >&2
}
: >"$tmp/memory"
[ "$idle" -gt 0 ] && for s in wsm lws wslay; do
  # Once in a long run the connections failed to open ("connection refused");
  # a second try, after the closed ones have settled, worked.
  measure_idle "$s" || { sleep 5; measure_idle "$s"; } ||
    { echo "idle connections failed: $s" >&2; exit 1; }
done
elapsed=$(($(date +%s) - start))

median() { # server workload [column: 3 CPU per message, 5 kernel share, 7 busy]
  awk -v s="$1" -v w="$2" -v c="${3:-3}" '$1 == s && $2 == w { print $c }' "$tmp/results" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
                             else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# The median over repetitions of wsm's CPU over lws's in the same repetition:
# the machine's drift between repetitions cancels.
paired() { # workload [server]
  awk -v w="$1" -v s="${2:-wsm}" '$2 == w && $1 == s { a[$6] = $3 } $2 == w && $1 == "lws" { b[$6] = $3 }
    END { for (r in a) if (r in b && b[r] > 0) print a[r] / b[r] }' "$tmp/results" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
                             else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
spread() {
  awk -v s="$1" -v w="$2" '$1 == s && $2 == w { print $3 }' "$tmp/results" | sort -g |
    awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }'
}

echo
echo "## Server CPU per echoed message (median of $reps; utime+stime, µs)"
echo
echo "| workload | wsm | wsm, defaults | libwebsockets | wslay | wsm/lws | paired | defaults/lws | paired | wsm/wslay | kernel share wsm, lws | busy wsm, lws | wsm <= 0.7x lws |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"
for w in $workloads; do
  m_wsm=$(median wsm "$w")
  m_wsm0=$(median wsm0 "$w")
  m_lws=$(median lws "$w")
  m_wslay=$(median wslay "$w")
  awk -v n="$(wl_name "$w")" -v a="$m_wsm" -v a0="$m_wsm0" -v b="$m_lws" -v c="$m_wslay" \
    -v sa="$(spread wsm "$w")" -v sa0="$(spread wsm0 "$w")" -v sb="$(spread lws "$w")" \
    -v sc="$(spread wslay "$w")" -v p="$(paired "$w")" -v p0="$(paired "$w" wsm0)" \
    -v ka="$(median wsm "$w" 5)" -v kb="$(median lws "$w" 5)" \
    -v ua="$(median wsm "$w" 7)" -v ub="$(median lws "$w" 7)" 'BEGIN {
    printf "| %s | %.2f (%s) | %.2f (%s) | %.2f (%s) | %.2f (%s) | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f%%, %.0f%% | %.0f%%, %.0f%% | %s |\n",
           n, a, sa, a0, sa0, b, sb, c, sc, a / b, p, a0 / b, p0, a / c, 100 * ka, 100 * kb,
           100 * ua, 100 * ub, (a <= 0.7 * b) ? "yes" : "no" }'
done
echo
echo "Parentheses: lowest-highest of the $reps runs; each run measures ${seconds} s after ${warmup} s of warmup."
echo "wsm: examples/echo_server --batch-us 50 (io_uring: after a wake-up that brought fewer than 16"
echo "completions, wait up to 50 µs for more); defaults: examples/echo_server with no options."
echo "Paired: the median of the ratio within each repetition. Kernel share: stime/(utime+stime), median."
echo "Busy: the server's CPU time over the measured window, median (100%: it never waited)."
echo "Text is checked for UTF-8 by wsm and libwebsockets (LWS_SERVER_OPTION_VALIDATE_UTF8), not by wslay."
echo "libwebsockets echoes from its WRITEABLE callback (its documented rule); wslay gathers whole messages."
if [ "$idle" -gt 0 ]; then
  echo
  echo "## Resident memory per idle connection ($idle connections, handshake done)"
  echo
  echo "| server | RSS before | RSS after | bytes per connection |"
  echo "|---|---:|---:|---:|"
  while read -r s r0 r1; do
    case "$s" in wsm) n="wsm echo_server" ;; lws) n=libwebsockets ;; *) n=$s ;; esac
    awk -v n="$n" -v a="$r0" -v b="$r1" -v k="$idle" 'BEGIN {
      printf "| %s | %d kB | %d kB | %.0f |\n", n, a, b, (b - a) * 1024 / k }'
  done <"$tmp/memory"
fi
echo
lws_ver=$(dpkg-query -W -f='${Version}' libwebsockets-dev 2>/dev/null || echo "?")
wslay_ver=$(dpkg-query -W -f='${Version}' libwslay-dev 2>/dev/null || echo "?")
[ "$workloads" = "small medium large stream stream8" ] || wl_opt=" --workloads \"$workloads\""
echo "Command: \`bench/server/run.sh --reps $reps --seconds $seconds --idle $idle${wl_opt:-}\`;" \
  "$(uname -sr), $cpus CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1))," \
  "servers ${pin_srv:-unpinned}, load generator ${pin_gen:-unpinned};" \
  "libwebsockets $lws_ver, wslay $wslay_ver; load average $load_before before," \
  "$(cut -d' ' -f1-3 /proc/loadavg) after; ${elapsed} s."
