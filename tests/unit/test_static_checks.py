"""The code type-checks (mypy, configured in pyproject.toml) and lints clean (ruff): both run
over wire/, storage/ and kbroker/ the way a developer runs them, pinned in the test extras."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_finds_no_type_errors():
    r = run("mypy")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_ruff_finds_no_lint_errors():
    r = run("ruff", "check", "wire", "storage", "kbroker", "tests", "compat")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
