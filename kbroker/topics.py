"""The topics of this broker: their metadata, their resolved configs and their partitions.

Each topic's config is resolved once (``kbroker.topic_config.resolve``) when the broker starts, when
the topic is created or altered, and for every topic when a dynamic broker config changes
(``reconfigure``); the typed snapshot is shared by the topic's ``Partition`` objects and the
storage policies derived from it go to its logs.  Creating and altering both go through
``check_overrides``, so a topic can hold no config set an alter would reject.  Storage
(``storage.topics.LogManager``) keeps the topic files and the logs; it receives typed settings and
never sees a config string's meaning.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from kbroker.config import BrokerConfig
from kbroker.partition import Partition, TopicState
from kbroker.topic_config import TopicConfig, check_overrides, resolve
from kbroker.waiters import AppendWaiters
from storage.topics import LogManager, TopicMeta


class TopicService:
    def __init__(self, config: BrokerConfig, logs: LogManager, node_id: int, waiters: AppendWaiters,
                 replicated: bool = False, high_watermarks: Mapping[tuple[str, int], int] | None = None) -> None:
        """``replicated``: a cluster broker — only the partitions it holds a replica of have a log
        here (``ensure_replicas``), each starting from its checkpointed high watermark."""
        self._broker_config = config
        self.logs = logs
        self.node_id = node_id
        self._waiters = waiters
        self.replicated = replicated
        self._hw = dict(high_watermarks or {})
        self._states: dict[str, TopicState] = {}
        self._partitions: dict[tuple[str, int], Partition] = {}
        # called with the name after a topic's data is deleted (e.g. its metrics are dropped)
        self.on_deleted: list[Callable[[str], None]] = []
        for meta in logs.topics.all():
            # stored overrides were checked when set; a broker default may have changed since
            self._states[meta.name] = TopicState(meta.name, resolve(config, meta.configs))
        logs.open({name: s.config.log for name, s in self._states.items()}, existing_only=replicated)
        for meta in logs.topics.all():
            self._add_partitions(meta, range(meta.partitions))

    # -- reading ------------------------------------------------------------------------------------

    def get(self, name: str) -> TopicMeta | None:
        return self.logs.topics.get(name)

    def by_id(self, topic_id: uuid.UUID) -> TopicMeta | None:
        return self.logs.topics.by_id(topic_id)

    def all(self) -> list[TopicMeta]:
        return self.logs.topics.all()

    def ids(self) -> dict[uuid.UUID, str]:
        return {m.topic_id: m.name for m in self.logs.topics.all()}

    def config(self, name: str) -> TopicConfig | None:
        state = self._states.get(name)
        return state.config if state is not None else None

    def partition(self, topic: str, index: int) -> Partition | None:
        """The partition, or None when there is none (or its log is closed: deleted, shutting down)."""
        part = self._partitions.get((topic, index))
        return None if part is None or part.log.closed else part

    def partitions(self) -> list[Partition]:
        return list(self._partitions.values())

    # -- changes ------------------------------------------------------------------------------------

    def check(self, overrides: Mapping[str, str]) -> TopicConfig:
        """A would-be topic's config (InvalidTopicConfig when Kafka would refuse the set)."""
        return check_overrides(self._broker_config, overrides)

    def create(self, name: str, partitions: int, overrides: Mapping[str, str],
               config: TopicConfig | None = None) -> TopicMeta:
        """Create a topic; InvalidTopicConfig, storage's InvalidPartitions / InvalidTopic /
        TopicAlreadyExists, or OSError (nothing of the topic is kept then). ``config``: the
        overrides as ``check`` already resolved them (checked here otherwise)."""
        config = config if config is not None else self.check(overrides)
        meta = self.logs.create_topic(name, partitions, dict(overrides), config.log)
        self._states[name] = TopicState(name, config)
        self._add_partitions(meta, range(partitions))
        return meta

    def add_partitions(self, name: str, total: int) -> TopicMeta:
        state = self._states[name]
        old = self.logs.topics.get(name)
        assert old is not None
        meta = self.logs.add_partitions(name, total, state.config.log)
        self._add_partitions(meta, range(old.partitions, total))
        return meta

    def alter(self, name: str, overrides: Mapping[str, str], config: TopicConfig | None = None) -> TopicMeta:
        """Replace a topic's overrides. ``config``: the overrides as the caller's plan already
        resolved them (checked here otherwise)."""
        config = config if config is not None else self.check(overrides)
        meta = self.logs.alter_topic_configs(name, dict(overrides), config.log)
        self._states[name].config = config
        return meta

    def delete(self, name: str) -> TopicMeta:
        meta = self.logs.delete_topic(name)
        self._states.pop(name, None)
        for p in range(meta.partitions):
            self._partitions.pop((name, p), None)
            self._waiters.notify(name, p)
        for hook in self.on_deleted:
            hook(name)
        return meta

    def close(self) -> None:
        """Close every log (clean shutdown: checkpoints and the clean-shutdown markers)."""
        self._partitions.clear()
        self.logs.close_all(clean=True)

    def reconfigure(self) -> None:
        """A dynamic broker config changed: every topic's config is resolved again."""
        for name, state in self._states.items():
            meta = self.logs.topics.get(name)
            state.config = resolve(self._broker_config, meta.configs if meta else {})
            self.logs.reconfigure(name, state.config.log)

    def _add_partitions(self, meta: TopicMeta, indexes: range) -> None:
        state = self._states[meta.name]
        for i in indexes:
            log = self.logs.get_log(meta.name, i)
            if log is None and self.replicated:
                continue  # no replica here
            assert log is not None
            self._partitions[meta.name, i] = Partition(state, i, log, self.node_id, self._waiters, self.replicated,
                                                       self._hw.get((meta.name, i), 0))

    # -- replicas (cluster mode) ------------------------------------------------------------------

    def ensure_replicas(self, name: str, topic_id: uuid.UUID, total: int, hosted: set[int],
                        overrides: Mapping[str, str]) -> list[Partition]:
        """The topic as the cluster has it, with logs for exactly the partitions in ``hosted``.
        Returns the partitions opened now. A local topic of the same name with another id is
        deleted first."""
        old = self.logs.topics.get(name)
        if old is not None and old.topic_id != topic_id:
            self.delete(name)
        meta = self.logs.ensure_topic(name, topic_id, total, overrides)
        state = self._states.get(name)
        config = resolve(self._broker_config, meta.configs)
        if state is None:
            state = self._states[name] = TopicState(name, config)
        elif state.config.overrides != config.overrides:
            state.config = config
            self.logs.reconfigure(name, config.log)
        opened = []
        for i in sorted(hosted):
            if (name, i) not in self._partitions:
                log = self.logs.open_partition(name, i, state.config.log)
                part = Partition(state, i, log, self.node_id, self._waiters, True, self._hw.get((name, i), 0))
                self._partitions[name, i] = part
                opened.append(part)
        for (t, i) in [k for k in self._partitions if k[0] == name and k[1] not in hosted]:
            self._partitions.pop((t, i))
            self.logs.remove_partition(t, i)
            self._waiters.notify(t, i)
        return opened

    def high_watermarks(self) -> dict[tuple[str, int], int]:
        return {(p.topic, p.index): p.high_watermark for p in self._partitions.values() if not p.log.closed}
