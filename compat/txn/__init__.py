"""Transactions and exactly-once with real clients (issue 13), on kbroker or the reference Apache Kafka.

- ``clients``: transactional producers (kafka-clients 3.9.2 / 4.4.0 through java/kbroker/txn/TxnTool.java,
  confluent-kafka, kafka-python) following one plan, readers of each client at both isolation levels,
  ListOffsets at both levels, a Java producer holding a transaction open;
- ``checker``: pure checks of what the readers saw (isolation; the exactly-once copy, Jepsen-style);
- ``scenarios``: visibility, LSO and lag, zombie fencing, transaction timeout;
- ``campaign``: consume-transform-produce under SIGKILLs of the app and of brokers;
- ``targets``: kbroker (one broker, or a cluster) or Apache Kafka (one KRaft node, or a cluster);
- ``python -m compat.txn [--kafka] ...`` runs them (see __main__). The tests (tests/foreign/test_txn_*.py,
  tests/broker/test_txn_clients.py) run against kbroker, or against Kafka with ``TXN_TARGET=kafka``.
"""
