"""Topics: list, describe (per partition leader, replicas, ISR, earliest/latest offsets and size),
create, delete, add partitions. Plain functions over a ``Session``; results are ``models`` dataclasses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kbroker.admin.models import PartitionInfo, TopicInfo, TopicSummary
from kbroker.admin.session import NotFound, Session, error_message, raise_for_code


def list_topics(s: Session, include_internal: bool = False) -> list[TopicSummary]:
    """Every topic, sorted by name (internal ones such as __consumer_offsets only when asked)."""
    meta = s.call("list topics", s.admin.describe_topics)
    out = []
    for t in meta:
        if t.get("error_code"):
            continue
        if t.get("is_internal") and not include_internal:
            continue
        parts = t.get("partitions") or []
        rf = max((len(p.get("replica_nodes") or []) for p in parts), default=0)
        out.append(TopicSummary(t["name"], len(parts), rf, bool(t.get("is_internal"))))
    return sorted(out, key=lambda x: x.name)


def topic_names(s: Session) -> list[str]:
    return [t.name for t in list_topics(s, include_internal=True)]


def describe_topics(s: Session, names: Iterable[str] | None = None, *, offsets: bool = True,
                    sizes: bool = True, configs: bool = True) -> list[TopicInfo]:
    """The named topics (all non-internal topics when ``names`` is None). An unknown name raises
    ``NotFound``. ``offsets``/``sizes``/``configs`` add ListOffsets, DescribeLogDirs and DescribeConfigs
    round trips."""
    wanted = None if names is None else list(names)
    meta = s.call("describe topics", s.admin.describe_topics, wanted)
    topics = []
    for t in meta:
        raise_for_code(t.get("error_code", 0), None, f"topic {t.get('name')!r}")
        if wanted is None and t.get("is_internal"):
            continue
        topics.append(t)
    tps = [(t["name"], p["partition_index"]) for t in topics for p in t.get("partitions") or []]
    lo = partition_offsets(s, tps, "earliest") if offsets and tps else {}
    hi = partition_offsets(s, tps, "latest") if offsets and tps else {}
    size = log_sizes(s, [t["name"] for t in topics]) if sizes and topics else {}
    cfg = overridden_configs(s, [t["name"] for t in topics]) if configs and topics else {}
    out = []
    for t in topics:
        parts = []
        for p in sorted(t.get("partitions") or [], key=lambda p: p["partition_index"]):
            key = (t["name"], p["partition_index"])
            parts.append(PartitionInfo(
                partition=p["partition_index"], leader=p.get("leader_id", -1),
                replicas=tuple(p.get("replica_nodes") or ()), isr=tuple(p.get("isr_nodes") or ()),
                earliest=lo.get(key), latest=hi.get(key), size=size.get(key),
                error=error_message(p["error_code"]) if p.get("error_code") else None))
        out.append(TopicInfo(t["name"], str(t["topic_id"]) if t.get("topic_id") else None,
                             bool(t.get("is_internal")), tuple(parts), cfg.get(t["name"], {})))
    return sorted(out, key=lambda x: x.name) if wanted is None else out


def describe_topic(s: Session, name: str, **options: Any) -> TopicInfo:
    return describe_topics(s, [name], **options)[0]


def partitions_of(s: Session, topic: str) -> list[int]:
    """The partition numbers of ``topic`` (``NotFound`` when it does not exist)."""
    t = describe_topic(s, topic, offsets=False, sizes=False, configs=False)
    return [p.partition for p in t.partitions]


def partition_offsets(s: Session, tps: Iterable[tuple[str, int]], spec: str | int) -> dict[tuple[str, int], int]:
    """ListOffsets for each (topic, partition): ``spec`` is "earliest", "latest" or a timestamp in ms
    (the first offset at or after it; the latest offset when no record is that recent)."""
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec, OffsetTimestamp

    tps = list(tps)
    if not tps:
        return {}
    if spec == "earliest":
        how: Any = OffsetSpec.EARLIEST
    elif spec == "latest":
        how = OffsetSpec.LATEST
    else:
        how = OffsetTimestamp(int(spec))
    got = s.call("list offsets", s.admin.list_partition_offsets, {TopicPartition(t, p): how for t, p in tps})
    out = {(tp.topic, tp.partition): o.offset for tp, o in got.items()}
    if not isinstance(how, OffsetSpec) and any(v < 0 for v in out.values()):
        latest = partition_offsets(s, [k for k, v in out.items() if v < 0], "latest")
        out.update(latest)
    return out


def log_sizes(s: Session, topics: list[str]) -> dict[tuple[str, int], int]:
    """Bytes on disk per partition (DescribeLogDirs), the largest replica's; empty when the broker does
    not answer DescribeLogDirs."""
    try:
        answers = s.admin.describe_log_dirs(topics)
    except Exception:  # noqa: BLE001 - sizes are optional information
        return {}
    out: dict[tuple[str, int], int] = {}
    for broker in answers:
        for d in broker.get("log_dirs") or []:
            for t in d.get("topics") or []:
                for p in t.get("partitions") or []:
                    key = (t["name"], p["partition_index"])
                    out[key] = max(out.get(key, 0), p.get("partition_size", 0))
    return out


def overridden_configs(s: Session, topics: list[str]) -> dict[str, dict[str, str]]:
    from kafka.admin import ConfigResource, ConfigResourceType

    try:
        got = s.admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
    except Exception:  # noqa: BLE001 - the listing still stands without them
        return {}
    return {name: {k: v.get("value") for k, v in entries.items() if v.get("config_source") == "DYNAMIC_TOPIC_CONFIG"}
            for name, entries in (got.get("topic") or {}).items()}


def create_topic(s: Session, name: str, partitions: int | None = None, replication_factor: int | None = None,
                 configs: Mapping[str, str] | None = None, *, validate_only: bool = False,
                 wait: bool = True) -> TopicSummary:
    """CreateTopics; ``None`` leaves the count/factor to the broker's defaults. ``wait`` returns once
    every partition has a leader (bounded by the session's request timeout)."""
    spec = {"num_partitions": partitions if partitions is not None else -1,
            "replication_factor": replication_factor if replication_factor is not None else -1,
            "configs": dict(configs or {})}
    res = s.call(f"create topic {name!r}", s.admin.create_topics, {name: spec},
                 timeout_ms=int(s.request_timeout * 1000), validate_only=validate_only, raise_errors=False)
    (t,) = res["topics"]
    raise_for_code(t["error_code"], t.get("error_message"), f"create topic {name!r}")
    if wait and not validate_only:
        s.call(f"wait for topic {name!r}", s.admin.wait_for_topics, [name],
               timeout_ms=int(s.request_timeout * 1000))
    return TopicSummary(name, t.get("num_partitions", partitions or -1), t.get("replication_factor", -1))


def delete_topic(s: Session, name: str) -> None:
    res = s.call(f"delete topic {name!r}", s.admin.delete_topics, [name],
                 timeout_ms=int(s.request_timeout * 1000), raise_errors=False)
    for t in res["topics"]:
        raise_for_code(t["error_code"], t.get("error_message"), f"delete topic {name!r}")


def add_partitions(s: Session, name: str, total: int, *, validate_only: bool = False) -> None:
    """CreatePartitions: grow ``name`` to ``total`` partitions."""
    if not topic_exists(s, name):
        raise NotFound(f"topic {name!r}: the topic does not exist ({error_message(3)})")
    res = s.call(f"add partitions to {name!r}", s.admin.create_partitions, {name: total},
                 timeout_ms=int(s.request_timeout * 1000), validate_only=validate_only, raise_errors=False)
    for r in res.results:
        raise_for_code(r.error_code, r.error_message, f"add partitions to {name!r}")


def topic_exists(s: Session, name: str) -> bool:
    meta = s.call("describe topics", s.admin.describe_topics, [name])
    return bool(meta) and not meta[0].get("error_code")
