#!/usr/bin/env bash
# Builds the container images of docker/: the broker (docker/Dockerfile) and the ZooKeeper of the
# cluster compose file (docker/zookeeper.Dockerfile).
#   usage: scripts/build-image.sh [BROKER_TAG [ZOOKEEPER_TAG]]   (default kbroker:latest kbroker-zookeeper:latest)
# Steps, each skipped when its result is already there:
#   1. a Docker engine (scripts/dockerd.sh starts dockerd when none answers);
#   2. the base image debian:bookworm-slim, made here since nothing can be pulled: a debootstrap
#      --variant=minbase bookworm root, kept as a tarball under compat/.cache/docker/, `docker import`ed;
#   3. wheels built on the host (pip inside a build cannot check the index's certificates): kbroker's
#      own, every time, and its runtime dependencies (with the cluster extra) for the image's Python
#      (CPython 3.11, glibc 2.36), downloaded again only when kbroker's requirements change;
#   4. `docker build` with host networking (the Dockerfiles' apt-get reaches the Debian mirror).
# Environment: PYTHON (the host Python that builds the wheels; default python3), DOCKER (the client),
# DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="$ROOT/compat/.cache/docker"
BROKER_TAG="${1:-kbroker:latest}"
ZOOKEEPER_TAG="${2:-kbroker-zookeeper:latest}"
PYTHON="${PYTHON:-python3}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE=debian:bookworm-slim
if [ -z "${DOCKER:-}" ]; then
  if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER="$(command -v docker || true)"; fi
fi
export DOCKER
log() { echo "build-image: $*" >&2; }

# 1. the engine
bash "$ROOT/scripts/dockerd.sh"
mkdir -p "$CACHE"

# 2. the base image
if "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
  log "$BASE already there"
else
  TARBALL="$CACHE/bookworm-minbase.tar"
  if [ ! -f "$TARBALL" ]; then
    command -v debootstrap >/dev/null 2>&1 || { log "debootstrap is missing (scripts/install-deps.sh installs it)"; exit 1; }
    log "debootstrap --variant=minbase bookworm (from $MIRROR)"
    ROOTFS="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    trap 'rm -rf "$ROOTFS"' EXIT
    debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.partial" .
    mv "$TARBALL.partial" "$TARBALL"
    rm -rf "$ROOTFS"
    trap - EXIT
  fi
  log "importing $TARBALL as $BASE"
  "$DOCKER" import --change 'CMD ["bash"]' "$TARBALL" "$BASE" >/dev/null
fi

# 3. the wheels (the build context)
CONTEXT="$CACHE/context"
mkdir -p "$CONTEXT/deps"
rm -rf "$CONTEXT/app" && mkdir -p "$CONTEXT/app"
log "building kbroker's wheel"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$CONTEXT/app" "$ROOT" >"$CACHE/wheel.log" 2>&1 \
  || { tail -n 30 "$CACHE/wheel.log" >&2; exit 1; }
WHEEL="$(ls "$CONTEXT"/app/kbroker-*.whl)"
# what the wheel requires, and for which Python: the dependencies are fetched again when that changes
WANT="$( { "$PYTHON" - "$WHEEL" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    print("\n".join(line for line in z.read(meta).decode().splitlines() if line.startswith("Requires-Dist:")))
PY
  echo "cp311 manylinux_2_36_$(uname -m)"; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$CONTEXT/deps/.requirements" 2>/dev/null || true)" = "$WANT" ]; then
  log "dependency wheels already there"
else
  log "downloading the dependency wheels for CPython 3.11"
  # pip takes each --platform literally: every manylinux tag glibc 2.36 runs is listed
  PLATFORMS=()
  for minor in $(seq 36 -1 5); do PLATFORMS+=(--platform "manylinux_2_${minor}_$(uname -m)"); done
  for legacy in manylinux2014 manylinux2010 manylinux1; do PLATFORMS+=(--platform "${legacy}_$(uname -m)"); done
  rm -rf "$CONTEXT/deps" && mkdir -p "$CONTEXT/deps"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check -d "$CONTEXT/deps" \
    --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none \
    "${PLATFORMS[@]}" --platform any "kbroker[cluster] @ file://$WHEEL"
  rm -f "$CONTEXT"/deps/kbroker-*.whl
  echo "$WANT" >"$CONTEXT/deps/.requirements"
fi

# 4. the images (the classic builder: its layer cache is the image store, and the tests remove
# their tags with --no-prune so that the layers stay for the next build)
build() {  # TAG DOCKERFILE CONTEXT: the build's output goes to compat/.cache/docker/build-*.log
  local out="$CACHE/build-$(basename "$2").log"
  log "building $1 (log: $out)"
  if ! DOCKER_BUILDKIT=0 "$DOCKER" build --network host -f "$2" -t "$1" "$3" >"$out" 2>&1; then
    tail -n 30 "$out" >&2
    exit 1
  fi
}
build "$BROKER_TAG" "$ROOT/docker/Dockerfile" "$CONTEXT"
mkdir -p "$CACHE/empty-context"
build "$ZOOKEEPER_TAG" "$ROOT/docker/zookeeper.Dockerfile" "$CACHE/empty-context"
log "done: $BROKER_TAG $ZOOKEEPER_TAG"
