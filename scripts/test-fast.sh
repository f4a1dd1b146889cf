#!/usr/bin/env bash
# The fast lane: the unit and in-process tests (tests/unit/, tests/inproc/), no broker process and
# no external tool, so the non-Python dependencies are not installed.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
KBROKER_TEST_DEPS=0 exec bash scripts/test.sh -m "unit or inproc" "$@"
