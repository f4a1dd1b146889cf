#!/usr/bin/env bash
# Downloads the Kafka Connect worker's jars (compat/connect/pom.xml) into compat/.cache/connect/jars/;
# the work is done by compat/streams/fetch-jars.sh, given this folder.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
exec bash "$HERE/../streams/fetch-jars.sh" "$HERE"
