"""Matrix row: Spark 3.5.x Structured Streaming (see compat/spark/matrix.py)."""

from compat.spark.matrix import scenarios, version_text

LINE = "3.5"
CLIENT = "spark 3.5.x"
SCENARIOS = scenarios(LINE)


def version() -> str:
    return version_text(LINE)
