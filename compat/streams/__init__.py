"""Kafka Streams exactly-once against a broker: an unmodified word-count application (Java,
``src/``, built with javac against the kafka-streams jars that ``fetch-jars.sh`` caches in
``compat/.cache/streams/jars``), driven and checked from Python (``scenario.py``).

    python -m compat.streams --kafka                  # the reference Apache Kafka (single KRaft node)
    python -m compat.streams --kbroker                # a kbroker process
    python -m compat.streams --bootstrap HOST:PORT --no-kills

``brokers.py`` (the broker behind kill/restart), ``kafkaio.py`` (the Python client side) and
``java.py`` (jars, javac) are shared with compat/connect.
"""
