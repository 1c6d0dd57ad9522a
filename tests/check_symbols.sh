#!/bin/sh
# SPDX-License-Identifier: MIT
# The core is sans-I/O and allocation-free: the static library may reference
# only these libc functions (memory and string helpers, and the OS random
# source used as the default mask-key source), plus the compiler runtime's
# read-only CPU feature data behind __builtin_cpu_supports (run-time choice of
# SIMD paths). A call to malloc, free, any
# I/O, clock or process function would show up here as an undefined symbol.
set -eu
lib=$1
allowed='^(memcpy|memmove|memset|memcmp|bcmp|memchr|strlen|strcmp|strchr|strpbrk|getrandom|arc4random_buf|__errno_location|__stack_chk_fail|__memcpy_chk|__memmove_chk|__memset_chk|__cpu_model|__cpu_features2|__cpu_indicator_init)$'
defined=$(nm -g --defined-only "$lib" | awk 'NF >= 3 {print $3}' | sort -u)
undefined=$(nm -u "$lib" | awk 'NF >= 2 {print $NF}' | sed 's/@.*//' | sort -u |
  grep -Ev '^(__asan|__ubsan|__sanitizer|__lsan|_GLOBAL_OFFSET_TABLE_)' |
  grep -vxF "$defined" || true)
bad=$(printf '%s\n' "$undefined" | grep -Ev "$allowed" | grep -v '^$' || true)
if [ -n "$bad" ]; then
  echo "libwsm references functions outside its allowance:"
  printf '  %s\n' $bad
  exit 1
fi
echo "libwsm references only: $(printf '%s ' $undefined)"
