"""Kafka Connect exactly-once source against a broker: a distributed worker (connect-runtime, jars
cached in ``compat/.cache/connect/jars`` by ``fetch-jars.sh``) with ``exactly.once.source.support=
enabled`` runs the FileStreamSource and FileStreamSink connectors (connect-file), moving a file
through a topic into another file; ``worker.py`` runs the worker and speaks its REST API,
``scenario.py`` kills and restarts it and checks the files and the topic.

    python -m compat.connect --kafka       # the reference Apache Kafka (single KRaft node)
    python -m compat.connect --kbroker     # a kbroker process
"""
