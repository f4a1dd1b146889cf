"""Topic metadata (``TopicStore``) and the partition logs of a data directory (``LogManager``).

On-disk format::

    <data_dir>/topics/<name>.json     one file per topic, UTF-8 JSON:
        {"version": 1, "name": "orders", "topic_id": "<uuid, canonical hex form>",
         "partitions": 3, "configs": {"segment.bytes": "1048576", ...}}
    <data_dir>/<name>-<partition>/    one PartitionLog per partition (see storage.log)
    <data_dir>/<32 hex>-delete/       a partition directory being deleted; removed at the next start

- A topic file is replaced by writing ``.<32 hex>.tmp``, fsync, rename, fsync of the directory, so a
  crash leaves the old or the new file, never a torn one; stray ``.tmp`` files are removed at open.
  (Temporary and doomed names do not contain the topic name, which may already be 249 bytes long.)
- Names follow Kafka: 1-249 characters of ``[a-zA-Z0-9._-]``, not ``.`` or ``..``. The alphabet makes
  a name a safe file name. At most 100000 partitions per topic, so ``<name>-<partition>`` is at most
  249 + 1 + 5 = 255 bytes, the usual file-name limit (``<name>.json`` is at most 254).
- ``topics`` cannot clash with a partition directory, whose name always ends in ``-<digits>``.
- ``version`` lets a future layout be told apart; an unknown version refuses to load.
- Deletion removes the metadata file first and then renames each partition directory to a
  ``-delete`` name before removing it, so a crash half way never resurrects the topic's data under a
  recreated topic of the same name (``create`` also moves aside any leftover directory).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import write_atomic
from .errors import InvalidConfig, InvalidPartitions, InvalidTopic, TopicAlreadyExists, UnknownTopic
from .log import LogConfig, PartitionLog
from .recovery import fsync_dir

_log = logging.getLogger(__name__)

__all__ = ["TopicMeta", "TopicStore", "LogManager", "log_config_for", "validate_topic_name"]

_FORMAT_VERSION = 1
_LEGAL_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_MAX_PARTITIONS = 100_000  # partition numbers of at most 5 digits: "<249-char name>-99999" is 255 bytes
_NEVER = 2**63 - 1  # Kafka's Long.MAX_VALUE default of flush.messages / flush.ms

# Topic config name → LogConfig field. Other topic configs are stored but not used by the log.
_LOG_CONFIG_FIELDS = {
    "segment.bytes": "segment_bytes",
    "segment.ms": "segment_ms",
    "index.interval.bytes": "index_interval_bytes",
    "segment.index.bytes": "segment_index_bytes",
    "flush.messages": "flush_interval_messages",
    "flush.ms": "flush_interval_ms",
    "segment.jitter.ms": "segment_jitter_ms",
    "preallocate": "preallocate",
}


@dataclass(frozen=True, slots=True)
class TopicMeta:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def validate_topic_name(name: str) -> None:
    if not isinstance(name, str) or not _LEGAL_NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidTopic(f"illegal topic name {name!r}")


def log_config_for(default: LogConfig, configs: Mapping[str, str | None]) -> LogConfig:
    """``default`` with the topic's log-related overrides applied; InvalidConfig if one is bad.
    A compacted topic (``cleanup.policy`` has ``compact``) rolls its active segment after at most
    ``max.compaction.lag.ms`` too, as Kafka does, so that the cleaner can get at every record."""
    changes: dict[str, int | None] = {}
    policy, max_lag = configs.get("cleanup.policy"), configs.get("max.compaction.lag.ms")
    if policy is not None and "compact" in str(policy) and max_lag is not None:
        try:
            lag = int(str(max_lag).strip())
        except ValueError:
            raise InvalidConfig(f"max.compaction.lag.ms={max_lag!r} is not an integer") from None
        segment_ms = configs.get("segment.ms")
        current = int(str(segment_ms).strip()) if segment_ms is not None else default.segment_ms
        if 0 < lag < current:
            configs = {**configs, "segment.ms": str(lag)}
    for key, name in _LOG_CONFIG_FIELDS.items():
        raw = configs.get(key)
        if raw is None:
            continue
        if name == "preallocate":
            changes[name] = str(raw).strip().lower() == "true"  # type: ignore[assignment]
            continue
        try:
            value: int | None = int(str(raw).strip())
        except ValueError:
            raise InvalidConfig(f"{key}={raw!r} is not an integer") from None
        if name.startswith("flush_") and value == _NEVER:
            value = None
        changes[name] = value
    try:
        return dataclasses.replace(default, **changes)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidConfig(str(exc)) from None


def _new_topic_id() -> uuid.UUID:
    # Like Kafka, avoid ids whose base64 form starts with "-" (it reads as a command-line flag).
    while True:
        topic_id = uuid.uuid4()
        if not base64.urlsafe_b64encode(topic_id.bytes).startswith(b"-"):
            return topic_id


def _write_json_atomic(path: Path, obj: object) -> None:
    # The temporary name does not repeat the topic name, so a 249-character name still fits.
    data = json.dumps(obj, indent=1, sort_keys=True).encode()
    write_atomic(path, data, tmp=path.with_name(f".{uuid.uuid4().hex}.tmp"))


class TopicStore:
    """Persisted topic metadata, one JSON file per topic under ``<data_dir>/topics``."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = Path(data_dir) / "topics"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._topics: dict[str, TopicMeta] = {}
        for path in sorted(self.directory.iterdir()):
            if path.name.endswith(".tmp"):
                path.unlink()
            elif path.suffix == ".json":
                meta = self._decode(json.loads(path.read_text("utf-8")), path)
                self._topics[meta.name] = meta

    @staticmethod
    def _decode(obj: dict, path: Path) -> TopicMeta:
        if obj.get("version") != _FORMAT_VERSION:
            raise ValueError(f"{path}: unknown topic metadata version {obj.get('version')!r}")
        return TopicMeta(
            obj["name"], uuid.UUID(obj["topic_id"]), int(obj["partitions"]), dict(obj["configs"])
        )

    def _save(self, meta: TopicMeta) -> None:
        obj = {
            "version": _FORMAT_VERSION,
            "name": meta.name,
            "topic_id": str(meta.topic_id),
            "partitions": meta.partitions,
            "configs": meta.configs,
        }
        _write_json_atomic(self.directory / f"{meta.name}.json", obj)
        self._topics[meta.name] = meta

    def _require(self, name: str) -> TopicMeta:
        meta = self._topics.get(name)
        if meta is None:
            raise UnknownTopic(f"unknown topic {name!r}")
        return meta

    def create(
        self,
        name: str,
        partitions: int,
        configs: Mapping[str, str] | None = None,
        topic_id: uuid.UUID | None = None,
    ) -> TopicMeta:
        validate_topic_name(name)
        if name in self._topics:
            raise TopicAlreadyExists(f"topic {name!r} already exists")
        _check_partitions(partitions)
        meta = TopicMeta(name, topic_id or _new_topic_id(), partitions, dict(configs or {}))
        self._save(meta)
        return meta

    def delete(self, name: str) -> TopicMeta:
        meta = self._require(name)
        (self.directory / f"{name}.json").unlink()
        fsync_dir(self.directory)
        del self._topics[name]
        return meta

    def add_partitions(self, name: str, new_total: int) -> TopicMeta:
        meta = self._require(name)
        _check_partitions(new_total)
        if new_total <= meta.partitions:
            raise InvalidPartitions(
                f"topic {name!r} has {meta.partitions} partitions; cannot go to {new_total}"
            )
        meta = dataclasses.replace(meta, partitions=new_total)
        self._save(meta)
        return meta

    def forget(self, name: str) -> None:
        """Drop a topic from memory only (its file could not be removed)."""
        self._topics.pop(name, None)

    def set_configs(self, name: str, configs: Mapping[str, str]) -> TopicMeta:
        """Replace the topic's whole config dict."""
        meta = dataclasses.replace(self._require(name), configs=dict(configs))
        self._save(meta)
        return meta

    def get(self, name: str) -> TopicMeta | None:
        return self._topics.get(name)

    def by_id(self, topic_id: uuid.UUID) -> TopicMeta | None:
        return next((m for m in self._topics.values() if m.topic_id == topic_id), None)

    def all(self) -> list[TopicMeta]:
        return sorted(self._topics.values(), key=lambda m: m.name)

    def __contains__(self, name: object) -> bool:
        return name in self._topics

    def __len__(self) -> int:
        return len(self._topics)


def _check_partitions(count: int) -> None:
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= _MAX_PARTITIONS:
        raise InvalidPartitions(f"partition count {count!r} must be in [1, {_MAX_PARTITIONS}]")


class LogManager:
    """Every partition log of a data directory, keyed ``(topic, partition)``."""

    def __init__(
        self,
        data_dir: Path,
        default_config: LogConfig | None = None,
        expand: Callable[[Mapping[str, str]], Mapping[str, str]] | None = None,
    ) -> None:
        """``expand`` turns a topic's overrides into the configs its logs follow (the server passes
        one that fills in broker-wide defaults); by default the overrides alone are used."""
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.default_config = default_config if default_config is not None else LogConfig()
        self.expand = expand
        for path in self.data_dir.iterdir():
            if path.is_dir() and path.name.endswith("-delete"):
                shutil.rmtree(path, ignore_errors=True)
        self.topics = TopicStore(self.data_dir)
        self._logs: dict[tuple[str, int], PartitionLog] = {}
        for meta in self.topics.all():
            config = self.config_for(meta)
            for partition in range(meta.partitions):
                self._logs[meta.name, partition] = PartitionLog(self._path(meta.name, partition), config)

    def _path(self, topic: str, partition: int) -> Path:
        return self.data_dir / f"{topic}-{partition}"

    def config_for(self, meta: TopicMeta) -> LogConfig:
        return self._log_config(meta.configs)

    def _log_config(self, configs: Mapping[str, str]) -> LogConfig:
        return log_config_for(self.default_config, self.expand(configs) if self.expand else configs)

    def reconfigure_all(self, default_config: LogConfig | None = None) -> None:
        """Recompute every open log's settings (after a broker-wide default changed)."""
        if default_config is not None:
            self.default_config = default_config
        for meta in self.topics.all():
            config = self.config_for(meta)
            for partition in range(meta.partitions):
                log = self._logs.get((meta.name, partition))
                if log is not None:
                    log.reconfigure(config)

    def get_log(self, topic: str, partition: int) -> PartitionLog | None:
        return self._logs.get((topic, partition))

    def logs(self) -> dict[tuple[str, int], PartitionLog]:
        return dict(self._logs)

    def create_topic(self, name: str, partitions: int, configs: Mapping[str, str] | None = None) -> TopicMeta:
        validate_topic_name(name)
        config = self._log_config(configs or {})  # reject bad configs before saving
        meta = self.topics.create(name, partitions, configs)
        try:
            self._open_new(name, range(partitions), config)
        except BaseException:
            # All or nothing: a failure halfway (EMFILE, ENOSPC ...) leaves no half-made topic.
            self._undo_open(name, range(partitions))
            try:
                self.topics.delete(name)
            except OSError:
                self.topics.forget(name)
            raise
        return meta

    def add_partitions(self, name: str, new_total: int) -> TopicMeta:
        old = self.topics.get(name)
        assert old is not None
        config = self.config_for(old)
        added = range(old.partitions, new_total)
        _check_partitions(new_total)
        try:
            self._open_new(name, added, config)
        except BaseException:
            self._undo_open(name, added)
            raise
        try:
            return self.topics.add_partitions(name, new_total)
        except BaseException:
            self._undo_open(name, added)
            raise

    def _undo_open(self, name: str, partitions: range) -> None:
        for partition in partitions:
            log = self._logs.pop((name, partition), None)
            if log is not None:
                try:
                    log.close(clean=False)
                except OSError:
                    pass
            shutil.rmtree(self._path(name, partition), ignore_errors=True)

    def alter_topic_configs(self, name: str, configs: Mapping[str, str]) -> TopicMeta:
        """Replace a topic's configs; log settings apply to its open logs from the next append."""
        config = self._log_config(configs)
        meta = self.topics.set_configs(name, configs)
        for partition in range(meta.partitions):
            self._logs[name, partition].reconfigure(config)
        return meta

    def delete_topic(self, name: str) -> TopicMeta:
        meta = self.topics.delete(name)
        for partition in range(meta.partitions):
            log = self._logs.pop((name, partition), None)
            if log is not None:
                log.close(clean=False)
            self._discard(self._path(name, partition))
        return meta

    def close_all(self, clean: bool = True) -> None:
        for key, log in self._logs.items():
            try:
                log.close(clean)
            except Exception:  # one log's failure must not keep the others from closing
                _log.exception("closing %s-%d failed", *key)
        self._logs.clear()

    def logs_needing_flush(self, now_ms: int) -> list[PartitionLog]:
        return [log for log in self._logs.values() if log.needs_flush(now_ms)]

    def _open_new(self, name: str, partitions: range, config: LogConfig) -> None:
        for partition in partitions:
            path = self._path(name, partition)
            if path.exists():
                self._discard(path)  # leftover of an interrupted delete: a new partition starts empty
            self._logs[name, partition] = PartitionLog(path, config)

    def _discard(self, path: Path) -> None:
        if not path.exists():
            return
        doomed = path.with_name(f"{uuid.uuid4().hex}-delete")
        os.rename(path, doomed)
        fsync_dir(self.data_dir)
        shutil.rmtree(doomed, ignore_errors=True)
