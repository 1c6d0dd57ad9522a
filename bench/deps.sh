#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the benchmarks' peer libraries (benchmark-only dependencies) when
# they are missing: bench/deps.sh PACKAGE...
set -eu
need=""
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
if [ -n "$need" ] && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  # shellcheck disable=SC2086
  $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q $need >/dev/null
fi
