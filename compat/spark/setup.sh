#!/usr/bin/env bash
# Installs what the Spark compat scenarios need, once per Spark version listed under compat/spark/:
# for each compat/spark/<line>/pom.xml (spark.version, scala.binary.version):
#   compat/.cache/spark-<line>/venv   a venv with pyspark==<spark.version> (Spark ships its own jars)
#   compat/.cache/spark-<line>/jars   spark-sql-kafka-0-10 and its runtime dependencies from Maven
#                                     Central, less the jars pyspark already has; given to Spark
#                                     with spark.jars, so nothing is resolved at run time
#   compat/.cache/spark-<line>/ready  written last; holds a digest of the inputs, so a rerun with the
#                                     same pom and script does nothing
# Needs python3 (with venv), mvn and a Java 17+ runtime.  Idempotent; non-interactive.
# KBROKER_COMPAT_CACHE overrides compat/.cache.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${KBROKER_COMPAT_CACHE:-$HERE/../.cache}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"

for tool in "$PYTHON" mvn java; do
  command -v "$tool" >/dev/null 2>&1 || { echo "spark setup: $tool not found" >&2; exit 1; }
done

prop() {  # prop NAME POM -> the value of <NAME> in POM's <properties>
  sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" "$2" | head -n1
}

for pom in "$HERE"/*/pom.xml; do
  line="$(basename "$(dirname "$pom")")"
  version="$(prop spark.version "$pom")"
  dest="$CACHE/spark-$line"
  digest="$(cat "$pom" "$HERE/maven-settings.xml" "$0" | sha256sum | cut -c1-16) pyspark==$version"
  if [ -f "$dest/ready" ] && [ "$(cat "$dest/ready")" = "$digest" ]; then
    echo "spark setup: spark-$line (pyspark $version) ready in $dest"
    continue
  fi
  echo "spark setup: preparing spark-$line (pyspark $version) in $dest"
  rm -f "$dest/ready"
  mkdir -p "$dest"

  if ! "$dest/venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$version')" 2>/dev/null; then
    rm -rf "$dest/venv"
    "$PYTHON" -m venv "$dest/venv"
    "$dest/venv/bin/python" -m pip install --quiet --disable-pip-version-check "pyspark==$version"
  fi
  spark_jars="$("$dest/venv/bin/python" -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars"))')"

  rm -rf "$dest/jars.tmp"
  mvn -q -B -Dstyle.color=never -s "$HERE/maven-settings.xml" -f "$pom" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$dest/jars.tmp"
  # Spark's own copy of a library wins over the connector's (same artifact, maybe another version).
  for jar in "$dest/jars.tmp"/*.jar; do
    artifact="$(basename "$jar" | sed -E 's/-[0-9][^-]*(-[A-Za-z][A-Za-z0-9.]*)?\.jar$//')"
    if compgen -G "$spark_jars/$artifact-[0-9]*.jar" >/dev/null; then
      rm -f "$jar"
    fi
  done
  for need in spark-sql-kafka-0-10 spark-token-provider-kafka-0-10 kafka-clients commons-pool2; do
    compgen -G "$dest/jars.tmp/$need*.jar" >/dev/null \
      || { echo "spark setup: $need missing from $dest/jars.tmp" >&2; exit 1; }
  done
  rm -rf "$dest/jars"
  mv "$dest/jars.tmp" "$dest/jars"
  echo "$digest" > "$dest/ready"
  echo "spark setup: spark-$line ready: $(cd "$dest/jars" && echo *.jar)"
done
