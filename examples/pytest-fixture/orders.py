"""A tiny application: orders are published to a Kafka topic as JSON, keyed by customer, and a report
reads them back and totals them per customer. It knows nothing about tests: it takes the
``bootstrap_servers`` of whatever Kafka it is given."""

from __future__ import annotations

import json
from collections import defaultdict

from kafka import KafkaConsumer, KafkaProducer


def publish(bootstrap_servers: str, topic: str, orders: list[dict]) -> None:
    """Sends every order (``{"customer": ..., "amount": ...}``), keyed by customer, and waits for the acks."""
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    try:
        for order in orders:
            producer.send(topic, key=order["customer"].encode(), value=json.dumps(order).encode())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def totals(bootstrap_servers: str, topic: str, count: int, group: str = "report",
           timeout_s: float = 30.0) -> dict[str, float]:
    """Reads ``count`` orders as consumer group ``group`` from the start of ``topic`` and sums the amounts
    per customer; raises TimeoutError if fewer arrive within ``timeout_s``."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=group,
                             auto_offset_reset="earliest", consumer_timeout_ms=int(timeout_s * 1000))
    sums: dict[str, float] = defaultdict(float)
    seen = 0
    try:
        for message in consumer:  # ends after consumer_timeout_ms without a message
            order = json.loads(message.value)
            sums[order["customer"]] += order["amount"]
            seen += 1
            if seen == count:
                consumer.commit()
                return dict(sums)
    finally:
        consumer.close()
    raise TimeoutError(f"read {seen} of {count} orders from {topic}")
