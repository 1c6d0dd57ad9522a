#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the real peers that the interop tests (label "interop") talk to:
# Chromium, Python websockets (Debian's, for /usr/bin/python3), Node and npm,
# and the pinned npm package ws (npm ci from the committed lock file). Safe to
# run again: it installs only what is missing. Downloads no browser build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import websockets' 2>/dev/null ||
  missing+=(python3 python3-websockets)
# Node may come from another Debian repository that bundles npm with nodejs;
# ask apt for npm only when there is no npm at all.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cd "$here/node"
want=$(node -p "require('./package-lock.json').packages['node_modules/ws'].version")
have=$(node -p "try { require('./node_modules/ws/package.json').version } catch { '' }")
if [ "$want" != "$have" ]; then
  npm ci --ignore-scripts --no-audit --no-fund
fi
printf 'interop peers: chromium %s, python websockets %s, node %s, ws %s\n' \
  "$(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}')" \
  "$(/usr/bin/python3 -c 'import websockets; print(websockets.__version__)')" \
  "$(node --version)" "$want"
