#!/usr/bin/env bash
# Makes sure a Docker engine answers: when `docker info` fails, starts Debian's dockerd (package
# docker.io, installed by scripts/install-deps.sh) in the background and waits for it (at most 60 s).
# The engine runs without its default bridge and without iptables rules (--bridge=none
# --iptables=false): the kbroker containers use host networking, and nothing here may rewrite the
# machine's firewall. Its log goes to compat/.cache/docker/dockerd.log. Idempotent.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="$ROOT/compat/.cache/docker"
if [ -z "${DOCKER:-}" ]; then
  # Debian's client first: another docker client earlier on PATH may speak another API version
  if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER="$(command -v docker || true)"; fi
fi
[ -n "$DOCKER" ] || { echo "dockerd.sh: no docker client (scripts/install-deps.sh installs docker.io)" >&2; exit 1; }

if "$DOCKER" info >/dev/null 2>&1; then
  exit 0
fi

DOCKERD="$(command -v dockerd || true)"
[ -n "$DOCKERD" ] || DOCKERD=/usr/sbin/dockerd
[ -x "$DOCKERD" ] || { echo "dockerd.sh: no dockerd (scripts/install-deps.sh installs docker.io)" >&2; exit 1; }

mkdir -p "$CACHE"
echo "dockerd.sh: starting $DOCKERD (log: $CACHE/dockerd.log)" >&2
setsid nohup "$DOCKERD" --bridge=none --iptables=false </dev/null >>"$CACHE/dockerd.log" 2>&1 &

for _ in $(seq 1 120); do
  if "$DOCKER" info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "dockerd.sh: the Docker engine did not answer within 60 s; last lines of its log:" >&2
tail -n 20 "$CACHE/dockerd.log" >&2 || true
exit 1
