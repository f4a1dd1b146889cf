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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import write_atomic
from .errors import InvalidPartitions, InvalidTopic, TopicAlreadyExists, UnknownTopic
from .log import LogConfig, PartitionLog
from .recovery import fsync_dir

_log = logging.getLogger(__name__)

__all__ = ["TopicMeta", "TopicStore", "LogManager", "validate_topic_name"]

_FORMAT_VERSION = 1
_LEGAL_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_MAX_PARTITIONS = 100_000  # partition numbers of at most 5 digits: "<249-char name>-99999" is 255 bytes


@dataclass(frozen=True, slots=True)
class TopicMeta:
    name: str
    topic_id: uuid.UUID
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


def validate_topic_name(name: str) -> None:
    if not isinstance(name, str) or not _LEGAL_NAME.fullmatch(name) or name in (".", ".."):
        raise InvalidTopic(f"illegal topic name {name!r}")


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
    """Every partition log of a data directory, keyed ``(topic, partition)``.

    Topic configs are stored here as the strings they were given (the topic file), never parsed:
    each call that opens or reconfigures logs is handed the typed ``LogConfig`` they follow, which
    the server resolves from those strings (``kbroker.topic_config``)."""

    def __init__(self, data_dir: Path) -> None:
        """Loads the topic metadata and removes leftovers of interrupted deletes; the logs are
        opened by ``open``."""
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for path in self.data_dir.iterdir():
            if path.is_dir() and path.name.endswith("-delete"):
                shutil.rmtree(path, ignore_errors=True)
        self.topics = TopicStore(self.data_dir)
        self._logs: dict[tuple[str, int], PartitionLog] = {}

    def open(self, configs: Mapping[str, LogConfig], existing_only: bool = False) -> None:
        """Open every stored topic's logs (missing partition directories are created), each topic
        with its settings in ``configs`` (keyed by topic name). ``existing_only``: open only the
        partitions that have a directory (a cluster broker holds replicas of some partitions)."""
        for meta in self.topics.all():
            config = configs[meta.name]
            for partition in range(meta.partitions):
                path = self._path(meta.name, partition)
                if existing_only and not path.is_dir():
                    continue
                if (meta.name, partition) not in self._logs:
                    self._logs[meta.name, partition] = PartitionLog(path, config)

    # -- replicas (a cluster broker holds the partitions assigned to it) ----------------------------

    def ensure_topic(self, name: str, topic_id: uuid.UUID, partitions: int, configs: Mapping[str, str]) -> TopicMeta:
        """The topic's metadata as the cluster has it (id, partition count, overrides); a local topic
        of that name with another id (deleted and created again while this broker was away) is
        deleted first, with its data. No log is opened here (``open_partition``)."""
        meta = self.topics.get(name)
        if meta is not None and meta.topic_id != topic_id:
            self.delete_topic(name)
            meta = None
        if meta is None:
            validate_topic_name(name)
            return self.topics.create(name, partitions, configs, topic_id=topic_id)
        if partitions > meta.partitions:
            meta = self.topics.add_partitions(name, partitions)
        if dict(configs) != meta.configs:
            meta = self.topics.set_configs(name, configs)
        return meta

    def open_partition(self, name: str, partition: int, config: LogConfig) -> PartitionLog:
        log = self._logs.get((name, partition))
        if log is None:
            log = self._logs[name, partition] = PartitionLog(self._path(name, partition), config)
        return log

    def remove_partition(self, name: str, partition: int) -> None:
        """This broker no longer holds a replica of the partition: its log and files go."""
        log = self._logs.pop((name, partition), None)
        if log is not None:
            log.close(clean=False)
        self._discard(self._path(name, partition))

    def _path(self, topic: str, partition: int) -> Path:
        return self.data_dir / f"{topic}-{partition}"

    def reconfigure(self, name: str, config: LogConfig) -> None:
        """New settings for a topic's open logs (after a broker-wide default changed)."""
        meta = self.topics.get(name)
        for partition in range(meta.partitions if meta else 0):
            log = self._logs.get((name, partition))
            if log is not None:
                log.reconfigure(config)

    def get_log(self, topic: str, partition: int) -> PartitionLog | None:
        return self._logs.get((topic, partition))

    def logs(self) -> dict[tuple[str, int], PartitionLog]:
        return dict(self._logs)

    def create_topic(self, name: str, partitions: int, configs: Mapping[str, str], config: LogConfig
                     ) -> TopicMeta:
        """Persist a new topic (``configs``: its overrides, kept as given) and open its logs with
        ``config``."""
        validate_topic_name(name)
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

    def add_partitions(self, name: str, new_total: int, config: LogConfig) -> TopicMeta:
        old = self.topics.get(name)
        assert old is not None
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

    def alter_topic_configs(self, name: str, configs: Mapping[str, str], config: LogConfig) -> TopicMeta:
        """Replace a topic's stored overrides; ``config`` (its new settings) applies to its open logs
        from the next append (a cluster broker has logs of only the partitions it holds a replica of)."""
        meta = self.topics.set_configs(name, configs)
        self.reconfigure(name, config)
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
