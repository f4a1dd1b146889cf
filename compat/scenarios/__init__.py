"""Client scenarios: one module per client, each a set of functions ``scenario(bootstrap) -> str``.

A scenario returns a one-line summary when everything checked out, raises
:class:`~compat.scenarios.common.ScenarioSkipped` when it cannot run here (a missing tool or codec),
and raises anything else -- usually :class:`~compat.scenarios.common.ScenarioFailed` with a precise
reason -- when the broker and the client disagree.

Each client module exposes ``CLIENT`` (its row name in the matrix), ``version()`` and ``SCENARIOS``
(scenario name -> function).  New clients (Java, kafkajs, franz-go, Spark) add a module and a line in
:data:`CLIENT_MODULES`; new scenarios add a name to :data:`SCENARIO_ORDER`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Matrix rows, in order: client name -> module.
CLIENT_MODULES: dict[str, str] = {
    "kafka-python": "compat.scenarios.kafka_python",
    "confluent-kafka": "compat.scenarios.confluent",
    "aiokafka": "compat.scenarios.aiokafka_client",
    "kcat": "compat.scenarios.kcat",
    "java 3.9": "compat.java.row_3_9",
    "java 4.x": "compat.java.row_4",
    "kafkajs": "compat.scenarios.kafkajs",
    "franz-go": "compat.scenarios.franz_go",
    "spark 4.x": "compat.spark.row_4",
    "spark 3.5.x": "compat.spark.row_3_5",
}

#: Matrix columns, in order.  A client without a scenario shows "n/a" in that column.
SCENARIO_ORDER: tuple[str, ...] = ("roundtrip", "compression", "metadata", "json", "streaming", "exactly-once")


def load(client: str) -> ModuleType:
    return importlib.import_module(CLIENT_MODULES[client])
