#!/usr/bin/env bash
# Builds the franz-go compat program (main.go; modules pinned by go.mod/go.sum, fetched through the
# Go module proxy into compat/.cache/gomod) to compat/.cache/franz-go/kbroker-franz-go.
# Idempotent: skipped while the binary was built from the same sources by the same Go.
# KBROKER_COMPAT_CACHE overrides compat/.cache.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${KBROKER_COMPAT_CACHE:-$HERE/../.cache}"
command -v go >/dev/null 2>&1 || { echo "franz-go setup: go not found" >&2; exit 1; }
mkdir -p "$CACHE/franz-go"
CACHE="$(cd "$CACHE" && pwd)"
out="$CACHE/franz-go/kbroker-franz-go"
digest="$(cat "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" "$0" | sha256sum | cut -c1-16) $(go env GOVERSION)"
stamp="$CACHE/franz-go/ready"
if [ -x "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  echo "franz-go setup: ready ($out, franz-go $("$out" version))"
  exit 0
fi
rm -f "$stamp"
cd "$HERE"
# GOTOOLCHAIN=local: never try to download another Go; -modcacherw: the cache stays deletable
GOTOOLCHAIN=local GOMODCACHE="$CACHE/gomod" GOFLAGS="-mod=readonly -modcacherw" \
  go build -trimpath -o "$out.tmp" .
mv "$out.tmp" "$out"
echo "$digest" > "$stamp"
echo "franz-go setup: built $out (franz-go $("$out" version))"
