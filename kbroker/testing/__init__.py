"""A real kbroker for test suites, without Docker or a JVM.

    with kbroker.testing.broker() as b:          # any code: unittest, scripts, notebooks
        b.create_topic("orders", partitions=3)
        producer = KafkaProducer(bootstrap_servers=b.bootstrap_servers)

The pytest plugin (``kbroker.testing.pytest_plugin``, registered through the ``pytest11`` entry point,
so installing kbroker is enough) gives the fixtures ``kafka_broker`` (one broker per test) and
``kafka_broker_session`` (one for the whole run), and the ``kafka_topics`` marker. docs/testing.md has
the options and why the default mode is a thread.
"""

from kbroker.testing.embedded import DEFAULTS, MODES, EmbeddedBroker, broker
from kbroker.testing.errors import BrokerCrashed, TopicError

__all__ = ["DEFAULTS", "MODES", "BrokerCrashed", "EmbeddedBroker", "TopicError", "broker"]
