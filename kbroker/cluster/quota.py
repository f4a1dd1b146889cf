"""Replication throttles (Kafka's ReplicationQuotaManager, KIP-73): a byte rate over a sliding window and
the partitions it applies to.  Pure bookkeeping, no I/O; the caller passes the time.

The rate is Kafka's ``SimpleRate`` over a ``WindowedSum``: ``replication.quota.window.num`` samples of
``replication.quota.window.size.seconds`` each (11 and 1), plus one overlapping sample; a sample with no
event for ``num * size`` is reset; the rate is the sum of the samples divided by the time since the
oldest sample started, but never by less than one window.  The quota is exceeded while that rate is
above the bound (``leader.replication.throttled.rate`` / ``follower.replication.throttled.rate``,
Long.MAX_VALUE: never).  Recording never checks the quota (traffic of in-sync replicas counts too).

Which partitions are throttled comes from the topic configs ``leader.replication.throttled.replicas``
and ``follower.replication.throttled.replicas``: ``*`` (every partition), or ``partition:broker`` pairs,
of which this broker keeps the partitions paired with its own id (Kafka's ``parseThrottledPartitions``):
the leader list names the brokers that throttle what they serve as leader, the follower list the
brokers that throttle what they fetch as follower.

Kafka's rules for using it (``ReplicaManager.shouldLeaderThrottle``, ``RemoteLeaderEndPoint.
shouldFollowerThrottle``): a throttled partition is held back only while the quota is exceeded and the
follower is not in sync (leader: not in the ISR; follower: not caught up with the leader's high
watermark at its last fetch); the bytes of throttled partitions are recorded whatever the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

LONG_MAX = 2**63 - 1
LEADER_RATE = "leader.replication.throttled.rate"
FOLLOWER_RATE = "follower.replication.throttled.rate"
LEADER_REPLICAS = "leader.replication.throttled.replicas"
FOLLOWER_REPLICAS = "follower.replication.throttled.replicas"
ALL = None  # "*": every partition of the topic


@dataclass(slots=True)
class _Sample:
    start_ms: float
    last_event_ms: float
    value: float = 0.0
    events: int = 0

    def reset(self, now_ms: float) -> None:
        self.start_ms = self.last_event_ms = now_ms
        self.value = 0.0
        self.events = 0


class Rate:
    """Bytes per second over ``samples`` windows of ``window_ms`` (Kafka's SimpleRate)."""

    def __init__(self, samples: int = 11, window_ms: float = 1000.0) -> None:
        if samples < 1 or window_ms <= 0:
            raise ValueError("a rate needs at least one sample of positive length")
        self.samples = samples
        self.window_ms = float(window_ms)
        self._samples: list[_Sample] = []
        self._current = 0

    def record(self, value: float, now_ms: float) -> None:
        s = self._current_sample(now_ms)
        if now_ms - s.start_ms >= self.window_ms:
            s = self._advance(now_ms)
        s.value += value
        s.events += 1
        s.last_event_ms = now_ms

    def measure(self, now_ms: float) -> float:
        """The rate in units per second."""
        self._purge(now_ms)
        total = sum(s.value for s in self._samples)
        oldest = min((s.start_ms for s in self._samples), default=now_ms)
        window = max(now_ms - oldest, self.window_ms)
        return total / (window / 1000.0)

    def _current_sample(self, now_ms: float) -> _Sample:
        if not self._samples:
            self._samples.append(_Sample(now_ms, now_ms))
        return self._samples[self._current]

    def _advance(self, now_ms: float) -> _Sample:
        self._current = (self._current + 1) % (self.samples + 1)  # one extra: the overlapping sample
        if self._current >= len(self._samples):
            s = _Sample(now_ms, now_ms)
            self._samples.append(s)
            return s
        s = self._samples[self._current]
        s.reset(now_ms)
        return s

    def _purge(self, now_ms: float) -> None:
        expire = self.samples * self.window_ms
        for s in self._samples:
            if now_ms - s.last_event_ms >= expire:
                s.reset(now_ms)


def parse_throttled_replicas(value: str, broker_id: int) -> frozenset[int] | None:
    """The partitions a throttled-replicas list throttles on ``broker_id``: ``ALL`` (None) for ``*``,
    else the partitions paired with that broker (empty: none).  The value is the validated topic config
    (``kbroker.config_defs`` checks it); a malformed pair is skipped."""
    v = value.strip()
    if v == "*":
        return ALL
    out = set()
    for item in v.split(","):
        p, sep, b = item.partition(":")
        if not sep:
            continue
        try:
            if int(b.strip()) == broker_id:
                out.add(int(p.strip()))
        except ValueError:
            continue
    return frozenset(out)


def parse_rate(value: str | None) -> int:
    """A throttled rate's value (bytes/s); absent or unreadable: unthrottled."""
    try:
        return int(value) if value is not None else LONG_MAX
    except ValueError:
        return LONG_MAX


class ReplicationQuota:
    """One side's quota (leader or follower): its bound, its rate and the partitions it throttles."""

    def __init__(self, samples: int = 11, window_seconds: float = 1.0) -> None:
        self.bound = LONG_MAX
        self.rate = Rate(samples, window_seconds * 1000.0)
        self._throttled: dict[str, frozenset[int] | None] = {}

    def update_bound(self, bound: int) -> None:
        self.bound = bound

    def mark_throttled(self, topic: str, partitions: frozenset[int] | None) -> None:
        if partitions is not ALL and not partitions:
            self._throttled.pop(topic, None)
        else:
            self._throttled[topic] = partitions

    def remove_throttle(self, topic: str) -> None:
        self._throttled.pop(topic, None)

    def is_throttled(self, topic: str, partition: int) -> bool:
        if topic not in self._throttled:
            return False
        parts = self._throttled[topic]
        return parts is ALL or partition in parts

    def is_exceeded(self, now_ms: float) -> bool:
        if self.bound >= LONG_MAX:
            return False
        return self.rate.measure(now_ms) > self.bound

    def record(self, nbytes: int, now_ms: float) -> None:
        self.rate.record(float(nbytes), now_ms)

    def throttled_topics(self) -> dict[str, frozenset[int] | None]:
        return dict(self._throttled)


class ReplicationThrottle:
    """This broker's two quotas, fed from its dynamic broker configs and the topics' configs."""

    def __init__(self, broker_id: int, samples: int = 11, window_seconds: float = 1.0) -> None:
        self.broker_id = broker_id
        self.leader = ReplicationQuota(samples, window_seconds)
        self.follower = ReplicationQuota(samples, window_seconds)

    def apply_broker_configs(self, broker: Mapping[str, str], default: Mapping[str, str]) -> None:
        """Kafka's BrokerConfigHandler: this broker's dynamic value, else the cluster default's, else
        unthrottled (a static value in the properties file is not used)."""
        for name, quota in ((LEADER_RATE, self.leader), (FOLLOWER_RATE, self.follower)):
            quota.update_bound(parse_rate(broker.get(name, default.get(name))))

    def apply_topic_config(self, topic: str, config: Mapping[str, str]) -> None:
        """Kafka's TopicConfigHandler.updateThrottledList, for both lists."""
        for name, quota in ((LEADER_REPLICAS, self.leader), (FOLLOWER_REPLICAS, self.follower)):
            value = config.get(name, "")
            if value.strip():
                quota.mark_throttled(topic, parse_throttled_replicas(value, self.broker_id))
            else:
                quota.remove_throttle(topic)

    def remove_topic(self, topic: str) -> None:
        self.leader.remove_throttle(topic)
        self.follower.remove_throttle(topic)
