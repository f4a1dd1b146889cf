"""Storage policies for the tests that build logs directly: Kafka's defaults as the server resolves
them (``kbroker.topic_config.resolve`` of no override on a broker with no config), with the fields a
test names replaced.  Storage holds no default of its own, so ``log_config(segment_bytes=4096)`` is
"a topic with ``segment.bytes=4096`` and every other config at Kafka's default"."""

from __future__ import annotations

import dataclasses
from typing import Any

from kbroker.config import BrokerConfig
from kbroker.topic_config import TopicConfig, resolve
from storage.cleaner import CleanerConfig
from storage.log import LogConfig
from storage.retention import RetentionPolicy


def _defaults() -> tuple[BrokerConfig, TopicConfig]:
    broker = BrokerConfig()
    return broker, resolve(broker, {})


def log_config(**overrides: Any) -> LogConfig:
    """A log's segment settings: Kafka's defaults, ``overrides`` (field names) replaced."""
    return dataclasses.replace(_defaults()[1].log, **overrides)


def retention_policy(**overrides: Any) -> RetentionPolicy:
    """A log's retention policy: Kafka's defaults, ``overrides`` (field names) replaced."""
    return dataclasses.replace(_defaults()[1].retention, **overrides)


def cleaner_config(**overrides: Any) -> CleanerConfig:
    """A cleaning pass's settings: the topic's and the broker's ``log.cleaner.*`` defaults, ``overrides``
    (field names) replaced."""
    broker, topic = _defaults()
    return dataclasses.replace(topic.cleaner_config(*broker.cleaner_knobs()), **overrides)
