#!/usr/bin/env bash
# Installs the non-Python tools the tests need; idempotent and non-interactive (CI has no stdin).
#   kcat  (Debian package; tests/foreign/test_kcat.py, compat/scenarios/kcat.py)
#   ZooKeeper (Debian package zookeeper; the cluster tests and compat/cluster)
#   nftables (Debian package; the network cuts of the fault harness, compat/faults)
#   Chromium + chromedriver (Debian packages; the web console's browser test)
#   a JDK and Maven (Debian packages) and the Java-based clients (compat/java, compat/spark)
#   Docker: docker.io (engine and client), docker-compose, debootstrap (Debian packages; the container
#     image, scripts/build-image.sh and tests/foreign/test_container_image.py)
# Python packages come from pyproject.toml ('.[test]'), not from here.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  fi
fi

APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get not available; install $* by hand" >&2
    return 1
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    # a failed refresh is not fatal: the install below may still work from the cached lists
    $SUDO apt-get update -qq </dev/null || echo "install-deps: apt-get update failed; trying the cached lists" >&2
    APT_UPDATED=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

if command -v kcat >/dev/null 2>&1; then
  echo "install-deps: kcat already installed ($(command -v kcat))"
else
  echo "install-deps: installing kcat"
  apt_install kcat
  command -v kcat >/dev/null 2>&1 || { echo "install-deps: kcat still missing after install" >&2; exit 1; }
fi

# A JDK (java, javac) and Maven for the Java-based clients below (Debian packages).
if command -v javac >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then
  echo "install-deps: JDK and Maven already installed ($(command -v javac), $(command -v mvn))"
else
  echo "install-deps: installing a JDK and Maven"
  apt_install openjdk-17-jdk-headless maven
fi

# ZooKeeper for the cluster tests (tests/support/zookeeper.py runs its jar with java; the Debian
# package's init script is not used, every test starts its own server on a loopback port).
if [ -f /usr/share/java/zookeeper.jar ]; then
  echo "install-deps: ZooKeeper already installed (/usr/share/java/zookeeper.jar)"
else
  echo "install-deps: installing ZooKeeper"
  apt_install zookeeper
  [ -f /usr/share/java/zookeeper.jar ] || { echo "install-deps: ZooKeeper still missing after install" >&2; exit 1; }
fi

# nftables for the fault harness's network cuts between namespaces (compat/faults; ip netns is iproute2)
if command -v nft >/dev/null 2>&1; then
  echo "install-deps: nftables already installed ($(command -v nft))"
else
  echo "install-deps: installing nftables"
  apt_install nftables
  command -v nft >/dev/null 2>&1 || { echo "install-deps: nft still missing after install" >&2; exit 1; }
fi

# Docker for the container image (scripts/build-image.sh, tests/foreign/test_container_image.py): the
# engine and client (docker.io; the engine is started by scripts/dockerd.sh when the tests need it),
# docker-compose for docker/compose*.yml, and debootstrap for the base image (nothing can be pulled)
if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] && command -v docker-compose >/dev/null 2>&1 \
   && command -v debootstrap >/dev/null 2>&1; then
  echo "install-deps: docker.io, docker-compose and debootstrap already installed"
else
  echo "install-deps: installing docker.io, docker-compose and debootstrap"
  apt_install docker.io docker-compose debootstrap
  [ -x /usr/sbin/dockerd ] || { echo "install-deps: dockerd still missing after install" >&2; exit 1; }
fi

# Chromium and its WebDriver for the web console's browser test (tests/foreign/test_console_browser.py,
# driven by Selenium at /usr/bin/chromedriver; no browser or driver is ever downloaded by the test)
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "install-deps: Chromium and chromedriver already installed"
else
  echo "install-deps: installing Chromium and chromedriver"
  apt_install chromium chromium-driver
  [ -x /usr/bin/chromedriver ] || { echo "install-deps: chromedriver still missing after install" >&2; exit 1; }
fi

# Foreign clients run by the compat tests, each installed by its own idempotent, cached script
# (everything goes to the git-ignored compat/.cache/):
#   Java: kafka-clients 3.9.x and 4.x jars (compat/java/versions.txt; mvn, Maven Central)
#   Spark: a venv per pyspark version and the matching spark-sql-kafka-0-10 jars (mvn, Maven Central)
#   kafkajs: npm ci into compat/kafkajs/node_modules
#   franz-go: go build (modules from the Go module proxy into compat/.cache/gomod)
# The kafka-clients jar of the release whose message definitions wire/gen.py generates from
# (wire.gen.KAFKA_RELEASE); tests/unit/test_codegen.py reads the definitions from it.
echo "install-deps: kafka-clients $(sed -n 's/^KAFKA_RELEASE = "\(.*\)"/\1/p' "$(dirname "$0")/../wire/gen.py") (message definitions)"
bash "$(dirname "$0")/../compat/java/fetch-jars.sh" "$(sed -n 's/^KAFKA_RELEASE = "\(.*\)"/\1/p' "$(dirname "$0")/../wire/gen.py")"

for setup in compat/java/fetch-jars.sh compat/spark/setup.sh compat/kafkajs/setup.sh compat/franz-go/setup.sh; do
  echo "install-deps: $setup"
  bash "$(dirname "$0")/../$setup"
done
python3 "$(dirname "$0")/../compat/kafka_ref/launcher.py" fetch  # reference Apache Kafka 4.1.1 + its CLI tools (compat/cli_compare.py), cached
bash "$(dirname "$0")/../compat/streams/fetch-jars.sh"  # kafka-streams jars (compat/streams, tests/foreign/test_streams_eos.py), cached
bash "$(dirname "$0")/../compat/connect/fetch-jars.sh"  # Kafka Connect worker + connect-file jars (compat/connect), cached
