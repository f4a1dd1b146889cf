#!/usr/bin/env bash
# The fast lane: the unit and in-process tests (tests/unit/, tests/inproc/), no broker process and
# no external tool, so the non-Python dependencies are not installed.  Its tests keep their files
# under their own tmp_path and open no listening socket, so they run in parallel workers
# (pytest-xdist, one per core; work stealing evens out the few slow tests); `-n 0` runs them in
# this process instead.  Extra arguments go to pytest (after ours, so they win).
# The whole suite (scripts/test.sh, what CI runs) stays serial.
set -euo pipefail
cd "$(dirname "$0")/.."
KBROKER_TEST_DEPS=0 exec bash scripts/test.sh -m "unit or inproc" -n auto --dist worksteal "$@"
