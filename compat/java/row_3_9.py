"""Matrix row: the Java client, kafka-clients 3.9.x (see compat/java/matrix.py)."""

from compat.java.matrix import pick, scenarios, version_text

VERSION = pick("3.9")
CLIENT = "java 3.9"
SCENARIOS = scenarios(VERSION)


def version() -> str:
    return version_text(VERSION)
