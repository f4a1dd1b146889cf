"""The test suite, by layer: ``unit/`` (pure code: wire codec, records, storage internals, the group
state machine, static checks), ``inproc/`` (server objects run in this process), ``broker/`` (a broker
process driven by Python clients or raw sockets), ``foreign/`` (another runtime or tool: Java, Spark,
kcat, Go, Node, the reference Apache Kafka and its CLI tools).  Shared test code lives in ``support/``;
the fixtures and the layer markers in ``conftest.py``.  ``golden/``, ``java/`` and ``spark/`` hold
data the tests read."""
