#!/usr/bin/env bash
# Installs kafkajs (and the kafkajs-snappy codec) for the compat scenarios: npm ci from
# package-lock.json into compat/kafkajs/node_modules (git-ignored).  Idempotent: skipped while
# node_modules was installed from the same lock file.  Needs node and npm.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kafkajs setup: $tool not found" >&2; exit 1; }
done
digest="$(sha256sum package-lock.json | cut -c1-16) node $(node --version)"
stamp=node_modules/.kbroker-setup
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  echo "kafkajs setup: ready ($(node client.js version))"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error </dev/null
echo "$digest" > "$stamp"
echo "kafkajs setup: installed kafkajs $(node client.js version)"
