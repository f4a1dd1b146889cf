"""What every client scenario shares: the records it produces, what it reads back, and the checks.

A produced record carries a per-key sequence number in its value (``tag|key|seq|index|filler``), two
headers (one ASCII, one binary) and an explicit CreateTime timestamp.  Timestamps are not monotonic
inside a batch on purpose: record timestamp deltas are zigzag varints and may be negative.

The checks compare what a consumer read with what the producer was told (partition and offset of
every record, from its delivery reports), so a record that lands somewhere else, changes, or goes
missing is named precisely.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType

# the scenarios' step bound, failures and deadline live in base (probe needs them too; re-exported here)
from compat.scenarios.base import STEP_TIMEOUT, Deadline, ScenarioFailed, ScenarioSkipped  # noqa: F401

CODECS: tuple[str, ...] = ("gzip", "snappy", "lz4", "zstd")

Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class Rec:
    """A record as produced.  ``timestamp`` None means the client stamped it (kcat)."""

    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp: int | None


@dataclass(frozen=True, slots=True)
class Got:
    """A record as a consumer returned it.  ``timestamp_type`` is "create", "log_append" or "none"."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    timestamp: int
    timestamp_type: str


def topic_name(client: str, what: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in client)
    return f"compat-{safe}-{what}-{uuid.uuid4().hex[:10]}"


def norm_headers(headers: Iterable[tuple[str, bytes | None]] | None) -> Headers:
    if not headers:
        return ()
    return tuple((str(k), b"" if v is None else bytes(v)) for k, v in headers)


_FILLER = (b"the quick brown fox jumps over the lazy dog ", b"lorem ipsum dolor sit amet ",
           b"kafka protocol compatibility ", b"\x00\x01\x02\x03 binary-ish \xfe\xff ")


def make_records(n: int = 10_000, n_keys: int = 1_000, tag: str = "compat", seed: int = 7,
                 headers: bool = True, timestamps: bool = True) -> list[Rec]:
    """``n`` keyed records over about ``n_keys`` keys, each value carrying its key's sequence number."""
    rng = random.Random(seed)
    base_ts = (int(time.time()) - 3600) * 1000  # an hour ago: well inside any retention
    seq: Counter[int] = Counter()
    out = []
    for i in range(n):
        k = rng.randrange(n_keys)
        key = f"key-{k:05d}"
        s = seq[k]
        seq[k] += 1
        filler = _FILLER[i % len(_FILLER)] * (1 + i % 3)
        value = f"{tag}|{key}|{s}|{i}|".encode() + filler
        hdrs: Headers = ((("seq", str(i).encode()), ("bin", i.to_bytes(4, "big") + b"\x00\xff"))
                         if headers else ())
        ts = base_ts + i * 5 + (i * 37) % 11 - 5 if timestamps else None
        out.append(Rec(key.encode(), value, hdrs, ts))
    return out


def key_seq(value: bytes | None) -> tuple[bytes, int] | None:
    """The (key, per-key sequence number) a scenario value carries, or None if it is not one."""
    if value is None:
        return None
    parts = value.split(b"|", 4)
    if len(parts) < 4:
        return None
    try:
        return parts[1], int(parts[2])
    except ValueError:
        return None


def ends_from(delivered: Sequence[tuple[int, int]], partitions: int) -> dict[int, int]:
    """Per-partition end offset (last acknowledged offset + 1) from delivery reports."""
    ends = dict.fromkeys(range(partitions), 0)
    for p, o in delivered:
        if p not in ends:
            raise ScenarioFailed(f"producer was told partition {p}, but the topic has {partitions}")
        ends[p] = max(ends[p], o + 1)
    return ends


def _short(b: bytes | None, n: int = 40) -> str:
    if b is None:
        return "None"
    r = repr(b)
    return r if len(r) <= n else r[:n] + "…"


class _Problems:
    def __init__(self, limit: int = 6) -> None:
        self.items: list[str] = []
        self.count: Counter[str] = Counter()
        self.limit = limit

    def add(self, kind: str, text: str) -> None:
        self.count[kind] += 1
        if self.count[kind] <= 2 and len(self.items) < self.limit:
            self.items.append(text)

    def raise_if_any(self, where: str) -> None:
        if self.count:
            kinds = ", ".join(f"{k}×{n}" for k, n in self.count.items())
            raise ScenarioFailed(f"{where}: {kinds}: " + "; ".join(self.items))


def verify(expected: Sequence[Rec], got: Sequence[Got], *, delivered: Sequence[tuple[int, int]] | None = None,
           partitions: int | None = None, ts_window: tuple[int, int] | None = None,
           where: str = "consume") -> str:
    """Check that ``got`` is exactly ``expected``; raise :class:`ScenarioFailed` naming what differs.

    With ``delivered`` (the producer's (partition, offset) per record) every record is compared at
    the position the producer was given; without it, as a multiset.  In both cases: offsets in each
    partition run 0..n-1 without holes or repeats, each key stays in one partition, each key's
    sequence numbers appear in order, timestamps are CreateTime (equal to the explicit ones, or
    inside ``ts_window`` for records the client stamped).
    """
    pr = _Problems()
    if len(got) != len(expected):
        pr.add("count", f"consumed {len(got)} records, produced {len(expected)}")

    by_pos: dict[tuple[int, int], Got] = {}
    per_part: defaultdict[int, list[int]] = defaultdict(list)
    for g in got:
        if (g.partition, g.offset) in by_pos:
            pr.add("duplicate", f"p{g.partition}@{g.offset} returned twice")
        by_pos[(g.partition, g.offset)] = g
        per_part[g.partition].append(g.offset)
        if partitions is not None and not 0 <= g.partition < partitions:
            pr.add("partition", f"record from partition {g.partition}, topic has {partitions}")
    for p, offs in sorted(per_part.items()):
        offs = sorted(set(offs))
        if offs != list(range(len(offs))):
            hole = next((i for i, o in enumerate(offs) if o != i), len(offs))
            pr.add("offsets", f"p{p} offsets not 0..{len(offs) - 1}: first mismatch at index {hole} "
                              f"(offset {offs[hole] if hole < len(offs) else '?'})")

    if delivered is not None:
        if len(delivered) != len(expected):
            pr.add("delivery", f"{len(delivered)} delivery reports for {len(expected)} records")
        for i, (rec, pos) in enumerate(zip(expected, delivered, strict=False)):
            at = by_pos.get(pos)
            if at is None:
                pr.add("missing", f"record #{i} acked at p{pos[0]}@{pos[1]} not consumed")
                continue
            _compare(pr, i, rec, at)
    else:
        want = Counter((r.key, r.value, r.headers) for r in expected)
        have = Counter((g.key, g.value, g.headers) for g in got)
        for item, n in (want - have).items():
            pr.add("missing", f"{n}× key={_short(item[0])} value={_short(item[1])} headers={item[2]!r}")
        for item, n in (have - want).items():
            pr.add("unexpected", f"{n}× key={_short(item[0])} value={_short(item[1])} headers={item[2]!r}")
        for g in got:
            if g.timestamp_type != "create":
                pr.add("timestamp", f"p{g.partition}@{g.offset} timestamp type {g.timestamp_type}")
            elif ts_window and not ts_window[0] <= g.timestamp <= ts_window[1]:
                pr.add("timestamp", f"p{g.partition}@{g.offset} timestamp {g.timestamp} outside "
                                    f"{ts_window[0]}..{ts_window[1]}")

    key_part: dict[bytes | None, int] = {}
    next_seq: Counter[bytes] = Counter()
    for g in sorted(got, key=lambda g: (g.partition, g.offset)):
        if key_part.setdefault(g.key, g.partition) != g.partition:
            pr.add("key-partition", f"key {_short(g.key)} in p{key_part[g.key]} and p{g.partition}")
        ks = key_seq(g.value)
        if ks is not None:
            k, s = ks
            if s != next_seq[k]:
                pr.add("order", f"key {k.decode(errors='replace')} seq {s} at p{g.partition}@{g.offset}, "
                                f"expected seq {next_seq[k]}")
            next_seq[k] = s + 1

    pr.raise_if_any(where)
    return f"{len(got)} records, {len(key_part)} keys, {len(per_part)} partitions"


def _compare(pr: _Problems, i: int, rec: Rec, g: Got) -> None:
    at = f"#{i} p{g.partition}@{g.offset}"
    if g.key != rec.key:
        pr.add("key", f"{at} key {_short(g.key)} != {_short(rec.key)}")
    if g.value != rec.value:
        pr.add("value", f"{at} value {_short(g.value)} != {_short(rec.value)}")
    if g.headers != rec.headers:
        pr.add("headers", f"{at} headers {g.headers!r} != {rec.headers!r}")
    if g.timestamp_type != "create":
        pr.add("timestamp", f"{at} timestamp type {g.timestamp_type}, expected CreateTime")
    elif rec.timestamp is not None and g.timestamp != rec.timestamp:
        pr.add("timestamp", f"{at} timestamp {g.timestamp} != {rec.timestamp}")


def check_offsets(kind: str, have: dict[int, int], want: dict[int, int] | None) -> dict[int, int]:
    """Compare a client's view of earliest/latest offsets with what they must be (if known)."""
    if want is None:
        return have
    if have != want:
        diff = {p: (have.get(p), want.get(p)) for p in sorted(set(have) | set(want)) if have.get(p) != want.get(p)}
        raise ScenarioFailed(f"{kind} offsets (got, expected) per partition: {diff}")
    return want


def roundtrip_scenario(client: ModuleType, bootstrap: str, n: int = 10_000, n_keys: int = 1_000,
                       partitions: int = 3) -> str:
    """Create a topic with the client's admin API, produce ``n`` keyed records with headers and
    explicit timestamps (acks=all), read them all back from the beginning with assign()."""
    topic = topic_name(client.CLIENT, "roundtrip")
    client.create_topic(bootstrap, topic, partitions)
    recs = make_records(n, n_keys, tag=client.CLIENT)
    delivered = client.produce(bootstrap, topic, recs)
    ends = ends_from(delivered, partitions)
    got = client.consume(bootstrap, topic, partitions, ends)
    return verify(recs, got, delivered=delivered, partitions=partitions)


def codec_interop(bootstrap: str, producer: ModuleType, codec: str, readers: Sequence[ModuleType],
                  n: int = 1_000, partitions: int = 2) -> str:
    """Produce ``n`` records compressed with ``codec`` by ``producer``; every reader must read back
    exactly the same keys, values, headers and timestamps at the same offsets."""
    topic = topic_name(producer.CLIENT, codec)
    producer.create_topic(bootstrap, topic, partitions)
    recs = make_records(n, n_keys=max(1, n // 10), tag=f"{producer.CLIENT}-{codec}", seed=len(codec))
    try:
        delivered = producer.produce(bootstrap, topic, recs, compression=codec)
    except ScenarioSkipped:
        raise
    except Exception as e:
        raise ScenarioFailed(f"{codec}: {producer.CLIENT} produce failed: {e}") from e
    ends = ends_from(delivered, partitions)
    failures = []
    from compat.scenarios.probe import check_compressed

    try:
        stored = check_compressed(bootstrap, topic, partitions, codec, producer.CLIENT)
    except Exception as e:
        stored = "?"
        failures.append(str(e))
    for reader in readers:
        try:
            got = reader.consume(bootstrap, topic, partitions, ends)
            verify(recs, got, delivered=delivered, partitions=partitions)
        except ScenarioSkipped as e:
            failures.append(f"{reader.CLIENT} skipped ({e})")
        except Exception as e:
            failures.append(f"{reader.CLIENT}: {type(e).__name__}: {e}")
    if failures:
        raise ScenarioFailed(f"{codec} from {producer.CLIENT} -> " + " | ".join(failures))
    return f"{codec}: {n} records in {stored}, read back by {', '.join(r.CLIENT for r in readers)}"


def compression_scenario(bootstrap: str, producer: ModuleType, readers: Sequence[ModuleType],
                         codecs: Sequence[str] = CODECS, n: int = 1_000) -> str:
    """:func:`codec_interop` for every codec; all are tried, and every failure is reported."""
    failures, done = [], []
    for codec in codecs:
        try:
            done.append(codec_interop(bootstrap, producer, codec, readers, n=n))
        except Exception as e:
            failures.append(f"{type(e).__name__}: {e}" if not isinstance(e, ScenarioFailed) else str(e))
    if failures:
        raise ScenarioFailed(" || ".join(failures))
    return "; ".join(done)


def other_python_readers(me: str) -> list[ModuleType]:
    """The Python clients other than ``me`` that can read any codec back."""
    from compat.scenarios import load

    return [load(c) for c in ("kafka-python", "confluent-kafka", "aiokafka") if c != me]
