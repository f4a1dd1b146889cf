#!/usr/bin/env bash
# Downloads kafka-clients and its runtime dependencies (lz4, snappy, zstd-jni, slf4j-api) plus
# slf4j-simple from Maven Central, one directory per kafka-clients version:
#   compat/.cache/java/kafka-clients-<version>/*.jar   (git-ignored; a .complete marker makes reruns free)
# Versions: the arguments, or every line of compat/java/versions.txt (the latest 3.9.x and 4.x that
# Maven Central had when it was last updated). pom.xml is used only to resolve dependencies.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="$(cd "$HERE/.." && pwd)/.cache/java"

if [ "$#" -gt 0 ]; then
  VERSIONS="$*"
else
  VERSIONS="$(grep -v '^\s*\(#\|$\)' "$HERE/versions.txt")"
fi

for v in $VERSIONS; do
  dir="$CACHE/kafka-clients-$v"
  if [ -f "$dir/.complete" ]; then
    echo "fetch-jars: kafka-clients $v already in $dir"
    continue
  fi
  command -v mvn >/dev/null 2>&1 || { echo "fetch-jars: mvn (Maven) is needed to download kafka-clients $v" >&2; exit 1; }
  echo "fetch-jars: downloading kafka-clients $v and its dependencies"
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$dir.tmp"
  mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies -Dkafka.version="$v" \
      -DincludeScope=runtime -DoutputDirectory="$dir.tmp" </dev/null
  ls "$dir.tmp"/kafka-clients-"$v".jar >/dev/null
  touch "$dir.tmp/.complete"
  mv "$dir.tmp" "$dir"
done
