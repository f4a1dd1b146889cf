#!/usr/bin/env bash
# Installs everything the tests need and runs the whole test suite.  Extra arguments go to pytest.
#   - non-Python tools (kcat, a JDK and Maven, ZooKeeper, the Java/Spark/kafkajs/franz-go clients):
#     scripts/install-deps.sh, cached under the git-ignored compat/.cache/
#   - Python packages: a virtual environment of its own, .cache/test-venv/ (git-ignored), built
#     WITHOUT the machine's site-packages from pyproject.toml's declared dependencies ('.[test]'),
#     so a package installed by hand can never hide a missing declaration.
# KBROKER_TEST_VENV overrides the venv's folder; KBROKER_TEST_DEPS=0 skips the non-Python tools
# (scripts/test-fast.sh, whose tests need none).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${KBROKER_TEST_DEPS:-1}" != 0 ]; then
  bash scripts/install-deps.sh
fi

VENV="${KBROKER_TEST_VENV:-.cache/test-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "test: creating the test environment in $VENV"
  python3 -m venv "$VENV"
fi
# re-install only when the declared dependencies changed (a digest of pyproject.toml)
digest="$(sha256sum pyproject.toml | cut -c1-16)"
if [ "$(cat "$VENV/.kbroker-deps" 2>/dev/null || true)" != "$digest" ]; then
  echo "test: installing kbroker and its declared test dependencies into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
  echo "$digest" > "$VENV/.kbroker-deps"
else
  # the editable install points at this checkout (a venv copied from elsewhere would not)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
fi
export PATH="$(cd "$VENV" && pwd)/bin:$PATH"
export VIRTUAL_ENV="$(cd "$VENV" && pwd)"

set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
fi
exit "$rc"
