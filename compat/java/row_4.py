"""Matrix row: the Java client, the latest kafka-clients 4.x (see compat/java/matrix.py)."""

from compat.java.matrix import pick, scenarios, version_text

VERSION = pick("4")
CLIENT = "java 4.x"
SCENARIOS = scenarios(VERSION)


def version() -> str:
    return version_text(VERSION)
