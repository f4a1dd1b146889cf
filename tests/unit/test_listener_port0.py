"""A listener configured with port 0 (the OS chooses, as kbroker.testing asks): once bound, the config
names the real port, so the broker advertises an address clients can reconnect to (the binding itself: tests/broker/test_testing_fixture.py)."""

from __future__ import annotations

from kbroker.config import BrokerConfig


def test_resolve_port_rewrites_only_port_zero():
    c = BrokerConfig({"listeners": "PLAINTEXT://127.0.0.1:0"})
    c.resolve_port(4242)
    assert (c.listener.host, c.listener.port) == ("127.0.0.1", 4242)
    assert (c.advertised.host, c.advertised.port) == ("127.0.0.1", 4242)

    fixed = BrokerConfig({"listeners": "PLAINTEXT://0.0.0.0:0", "advertised.listeners": "PLAINTEXT://kafka:9092"})
    fixed.resolve_port(4243)
    assert fixed.listener.port == 4243
    assert (fixed.advertised.host, fixed.advertised.port) == ("kafka", 9092)


def test_resolve_port_keeps_ipv6_brackets():
    c = BrokerConfig({"listeners": "PLAINTEXT://[::1]:0", "advertised.listeners": "PLAINTEXT://[::1]:0"})
    c.resolve_port(5000)
    assert c.get("listeners") == "PLAINTEXT://[::1]:5000"
    assert (c.advertised.host, c.advertised.port) == ("::1", 5000)

