"""Spark Structured Streaming (pyspark 4.x and 3.5.x with their spark-sql-kafka-0-10) against kbroker.

Each Spark version runs in its own venv made by ``compat/spark/setup.sh`` (scripts/install-deps.sh
calls it); the scenarios are in compat/spark/harness.py.  Without Java or without that setup the
tests are skipped, except under CI=true, where they must run.
"""

from __future__ import annotations

import pytest

from compat.spark import harness
from tests.support.tools import IN_CI, require_tool

LINES = [sl.line for sl in harness.lines()]


def _ready(line: str) -> harness.SparkLine:
    require_tool("java")
    sl = harness.get_line(line)
    reason = sl.unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason}; required under CI=true")
        pytest.skip(reason)
    return sl


def test_two_spark_lines_are_configured():
    assert [harness.get_line(x).version.split(".")[0] for x in LINES] == ["4", "3"], LINES


@pytest.mark.timeout(900)
@pytest.mark.parametrize("line", LINES)
def test_spark_streaming_and_batch(line, broker, tmp_path):
    """subscribe / subscribePattern / assign; earliest / latest / JSON offsets; availableNow and
    processingTime; memory, parquet and json sinks; batch reads with offset ranges; writeStream into
    a kbroker topic with headers; each query's output is exactly the records produced."""
    sl = _ready(line)
    print(harness.functional(sl, broker.bootstrap, tmp_path / "work"))


@pytest.mark.timeout(900)
@pytest.mark.parametrize("line", LINES)
def test_spark_exactly_once_across_broker_and_driver_kills(line, broker, tmp_path):
    """A checkpointed file sink fed while a producer keeps writing holds every record exactly once,
    across a SIGKILL + restart of the broker and a SIGKILL of the driver + restart from the checkpoint."""
    sl = _ready(line)
    print(harness.exactly_once(sl, broker, tmp_path / "work"))
