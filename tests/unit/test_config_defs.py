"""A topic config's default is written once, in the topic-config table (kbroker.config_defs); the
broker config that supplies it (its first synonym) reports that same default and type, except the
synonyms Kafka gives no value, whose DescribeConfigs entries list no DEFAULT_CONFIG synonym."""

from __future__ import annotations

from kbroker.config import BROKER_DEFAULTS
from kbroker.config_defs import TOPIC_CONFIGS

# Kafka 4.1's broker configs with a null default that are a topic config's first synonym.
NO_VALUE = {"log.retention.ms", "log.roll.ms", "log.flush.interval.ms", "log.roll.jitter.ms"}


def test_first_broker_synonym_reports_the_topic_default() -> None:
    for d in TOPIC_CONFIGS.values():
        if not d.synonyms:
            continue
        default, type_, _ = BROKER_DEFAULTS[d.synonyms[0]]
        if d.synonyms[0] in NO_VALUE:
            assert default is None, d.name
        else:
            assert (default, type_) == (d.default, d.type), d.name


def test_hour_and_minute_variants_keep_their_own_defaults() -> None:
    assert BROKER_DEFAULTS["log.retention.hours"][0] == "168"
    assert BROKER_DEFAULTS["log.roll.hours"][0] == "168"
    assert BROKER_DEFAULTS["log.roll.jitter.hours"][0] == "0"
    assert BROKER_DEFAULTS["log.retention.minutes"][0] is None
