"""Matrix rows for Spark Structured Streaming (compat/run.py): one row per Spark line under
compat/spark/ (row modules ``compat.spark.row_4`` and ``compat.spark.row_3_5``).

Columns: ``streaming`` (:func:`compat.spark.harness.functional`: subscribe / subscribePattern /
assign, earliest / latest / JSON offsets, availableNow / processingTime, memory / parquet / json
sinks, batch reads with offset ranges, a Kafka sink with headers read back) and ``exactly-once``
(:func:`compat.spark.harness.exactly_once`, on a private broker of its own, since it SIGKILLs and
restarts it; the matrix's broker is only used by ``streaming``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from compat.scenarios.common import ScenarioFailed, ScenarioSkipped
from compat.spark import harness


def _line(line: str) -> harness.SparkLine:
    sl = harness.get_line(line)
    reason = sl.unavailable()
    if reason:
        raise ScenarioSkipped(f"{reason} (scripts/install-deps.sh sets it up)")
    return sl


def scenarios(line: str) -> dict[str, Callable[[str], str]]:
    def streaming(bootstrap: str) -> str:
        work = Path(tempfile.mkdtemp(prefix=f"kbroker-spark{line}-"))
        try:
            return harness.functional(_line(line), bootstrap, work)
        except harness.SparkScenarioFailed as e:
            raise ScenarioFailed(f"{e} (work dir {work})") from None

    def exactly_once(bootstrap: str) -> str:
        sl = _line(line)
        work = Path(tempfile.mkdtemp(prefix=f"kbroker-spark{line}-"))
        from tests.support.brokerproc import BrokerProcess

        broker = BrokerProcess(work / "data").start()
        try:
            return harness.exactly_once(sl, broker, work / "run")
        except harness.SparkScenarioFailed as e:
            raise ScenarioFailed(f"{e} (work dir {work})") from None
        finally:
            broker.stop()

    return {"streaming": streaming, "exactly-once": exactly_once}


def version_text(line: str) -> str:
    sl = harness.get_line(line)
    java = "no Java"
    if shutil.which("java"):
        try:
            out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr
            java = "Java " + (out.split('"')[1] if '"' in out else out.strip().splitlines()[0])
        except (OSError, subprocess.SubprocessError):
            pass
    jars = sorted(p.name for p in sl.jar_dir.glob("kafka-clients-*.jar")) if sl.jar_dir.exists() else []
    clients = jars[0].removeprefix("kafka-clients-").removesuffix(".jar") if jars else "?"
    return f"pyspark {sl.version}, spark-sql-kafka-0-10_{sl.scala} (kafka-clients {clients}, {java})"
