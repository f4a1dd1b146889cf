"""The application's tests, each against a real Kafka-protocol broker: kbroker's pytest fixtures
(installed with kbroker, nothing to configure)."""

from __future__ import annotations

import json

import orders
import pytest
from kafka import KafkaConsumer, TopicPartition

ORDERS = [
    {"customer": "ada", "amount": 12.5},
    {"customer": "bob", "amount": 3.0},
    {"customer": "ada", "amount": 7.5},
    {"customer": "cy", "amount": 1.25},
]


@pytest.mark.kafka_topics("orders", partitions=3)
def test_totals_per_customer(kafka_broker):
    orders.publish(kafka_broker.bootstrap_servers, "orders", ORDERS)
    assert orders.totals(kafka_broker.bootstrap_servers, "orders", len(ORDERS)) == {
        "ada": 20.0, "bob": 3.0, "cy": 1.25}


def test_orders_of_a_customer_stay_in_order(kafka_broker):
    """Keyed by customer: one customer's orders land in one partition, in the order they were sent."""
    kafka_broker.create_topic("orders", partitions=4)
    mine = [{"customer": "ada", "amount": float(i)} for i in range(20)]
    orders.publish(kafka_broker.bootstrap_servers, "orders", mine)
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers, consumer_timeout_ms=10000)
    try:
        parts = [TopicPartition("orders", p) for p in range(4)]
        consumer.assign(parts)
        consumer.seek_to_beginning()
        got = [(m.partition, m.value) for _, m in zip(range(len(mine)), consumer, strict=False)]
    finally:
        consumer.close()
    assert len({p for p, _ in got}) == 1
    assert [v for _, v in got] == [json.dumps(o).encode() for o in mine]


def test_a_new_broker_for_each_test(kafka_broker):
    """The previous tests' topics are gone: each test gets a fresh, empty broker."""
    assert "orders" not in kafka_broker.topics()


def test_session_broker_first(kafka_broker_session):
    kafka_broker_session.create_topic("session-shared", exist_ok=True)
    orders.publish(kafka_broker_session.bootstrap_servers, "session-shared", ORDERS[:1])


def test_session_broker_is_shared(kafka_broker_session):
    """The session broker is the one the previous test used: its topic and order are still there."""
    assert "session-shared" in kafka_broker_session.topics()
    assert orders.totals(kafka_broker_session.bootstrap_servers, "session-shared", 1) == {"ada": 12.5}
