"""Matrix row: Spark 4.x Structured Streaming (see compat/spark/matrix.py)."""

from compat.spark.matrix import scenarios, version_text

LINE = "4.0"
CLIENT = "spark 4.x"
SCENARIOS = scenarios(LINE)


def version() -> str:
    return version_text(LINE)
