#!/usr/bin/env bash
# Downloads the jars of a Java program from Maven Central into the git-ignored compat/.cache/:
#   bash compat/streams/fetch-jars.sh     kafka-streams 4.4.0 + slf4j-simple  -> compat/.cache/streams/jars/
#   bash compat/connect/fetch-jars.sh     connect-runtime/json/transforms/file -> compat/.cache/connect/jars/
# (the second is this script run for compat/connect/pom.xml). The dependencies are those of the pom.xml
# beside the script; a .complete marker holds the pom's sha256, so a rerun is free and a changed pom
# fetches again. Needs mvn (scripts/install-deps.sh installs it).
set -euo pipefail
POM_DIR="$(cd "${1:-$(dirname "$0")}" && pwd)"
NAME="$(basename "$POM_DIR")"
DEST="$(cd "$POM_DIR/.." && pwd)/.cache/$NAME/jars"
DIGEST="$(sha256sum "$POM_DIR/pom.xml" | cut -d' ' -f1)"
if [ -f "$DEST/.complete" ] && [ "$(cat "$DEST/.complete")" = "$DIGEST" ]; then
  echo "fetch-jars: $NAME jars already in $DEST"
  exit 0
fi
command -v mvn >/dev/null 2>&1 || { echo "fetch-jars: mvn (Maven) is needed to download the $NAME jars" >&2; exit 1; }
echo "fetch-jars: downloading the $NAME jars ($POM_DIR/pom.xml)"
rm -rf "$DEST" "$DEST.tmp"
mkdir -p "$DEST.tmp"
mvn -q -B -Dstyle.color=never -f "$POM_DIR/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$DEST.tmp" </dev/null
echo "$DIGEST" > "$DEST.tmp/.complete"
mv "$DEST.tmp" "$DEST"
