"""Generated message classes: Hypothesis round trips for every (API, version), and a
cross-check against kafka-python 3.0's own (independently written) schema codec.

Strategies are driven by the same parsed definitions the generator reads
(``wire.gen.load_specs`` / ``MessageGen``), so a random instance is *valid for the
version*: only fields present in that version are set, nulls only where the version
allows them, integers within their width.  For such an instance

    encode(v) -> decode(v) -> encode(v)

must give identical bytes, the decoder must consume every byte, and the decoded object
must equal the instance (the absent fields were left at their defaults).

The generator and its test share the parsing of the definitions, so a misread
definition would pass the round trip; the kafka-python cross-check catches that: the
same values are built as kafka-python objects, and both codecs must write the same bytes
and read each other's.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import struct
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wire.messages as msgs
import wire.primitives as p
from wire.gen import (
    DATA_DEFINITIONS,
    PRIMS,
    Field,
    MessageGen,
    default_schema_dir,
    load_specs,
    strip_comments,
)

# kafka-python 3.0 loads its definitions with a deprecated importlib.resources call.
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated. Use files:DeprecationWarning")

# ---------------------------------------------------------------- definitions


@functools.cache
def generators() -> dict[str, MessageGen]:
    """Message class name -> its MessageGen (parsed definition)."""
    out = {}
    for api, parts in load_specs(default_schema_dir()).items():
        if any(spec["validVersions"] == "none" for spec in parts.values()):
            continue  # removed in the pinned release: not generated
        if "data" in parts and parts["data"]["name"] not in DATA_DEFINITIONS:
            continue  # KRaft's records: not generated
        for spec in parts.values():
            g = MessageGen(spec, api)
            out[g.name] = g
    return out


def all_classes() -> list[type]:
    classes = list(msgs.REQUESTS.values()) + list(msgs.RESPONSES.values())
    classes += list(msgs.DATA.values())
    return classes


def in_range(lo: int, hi: int | None, v: int) -> bool:
    return lo <= v and (hi is None or v <= hi)


def present(f: Field, v: int, flex: bool) -> bool:
    """Is field ``f`` carried on the wire at version ``v``?"""
    if not in_range(f.versions.lo, f.versions.hi, v):
        return False
    if f.tag is not None:
        return flex and in_range(f.tagged.lo, f.tagged.hi, v)
    return True


def nullable(f: Field, v: int) -> bool:
    return in_range(f.nullable.lo, f.nullable.hi, v)


def struct_fields(g: MessageGen, f: Field) -> list[Field]:
    return f.fields if f.fields else g.common[f.elem].fields


# ---------------------------------------------------------------- strategies

INT_BOUNDS = {"int8": 7, "int16": 15, "int32": 31, "int64": 63}
SMALL_TEXT = st.text(st.characters(codec="utf-8"), max_size=6)
SMALL_BYTES = st.binary(max_size=12)


def prim_strategy(t: str) -> st.SearchStrategy[Any]:
    if t in INT_BOUNDS:
        b = INT_BOUNDS[t]
        return st.integers(-(1 << b), (1 << b) - 1)
    if t == "uint16":
        return st.integers(0, 0xFFFF)
    if t == "uint32":
        return st.integers(0, 0xFFFFFFFF)
    if t == "float64":
        return st.floats(allow_nan=False)
    if t == "bool":
        return st.booleans()
    if t == "string":
        return SMALL_TEXT
    if t in ("bytes", "records"):
        return SMALL_BYTES
    if t == "uuid":
        return st.uuids(allow_nil=True)
    raise AssertionError(t)


def field_strategy(g: MessageGen, top: type, f: Field, v: int, flex: bool, depth: int) -> st.SearchStrategy:
    if f.elem in PRIMS:
        elem = prim_strategy(f.elem)
    else:
        elem = struct_strategy(g, top, f.elem, struct_fields(g, f), v, flex, depth + 1)
    if f.is_array:
        s: st.SearchStrategy = st.lists(elem, max_size=3 if depth == 0 else 2)
    else:
        s = elem
    # Kafka: only strings, bytes, records, arrays and structs may be nullable.
    if nullable(f, v) and (f.is_array or f.elem not in ("bool", "uuid", "float64", *INT_BOUNDS,
                                                         "uint16", "uint32")):
        s = st.none() | s
    return s


def struct_strategy(g: MessageGen, top: type, name: str | None, fields: list[Field], v: int,
                    flex: bool, depth: int) -> st.SearchStrategy:
    cls = top if name is None else getattr(top, name)
    kw = {f.pyname: field_strategy(g, top, f, v, flex, depth) for f in fields if present(f, v, flex)}
    return st.builds(cls, **kw)


@functools.cache
def message_strategy(cls: type, v: int) -> st.SearchStrategy:
    g = generators()[cls.__name__]
    return struct_strategy(g, cls, None, g.fields, v, v >= cls.FLEXIBLE_FROM, 0)


def cases() -> list[Any]:
    out = []
    for cls in all_classes():
        for v in range(cls.MIN_VERSION, cls.MAX_VERSION + 1):
            out.append(pytest.param(cls, v, id=f"{cls.__name__}-v{v}"))
    return out


# ---------------------------------------------------------------- round trips

ROUND_TRIP = settings(max_examples=15, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.filter_too_much])


def test_every_class_is_covered():
    names = {c.__name__ for c in all_classes()}
    assert names == set(generators())
    for key, cls in msgs.REQUESTS.items():
        assert cls.API_KEY == key and msgs.RESPONSES[key].API_KEY == key
        assert msgs.RESPONSES[key].MAX_VERSION == cls.MAX_VERSION


@pytest.mark.parametrize(("cls", "version"), cases())
def test_defaults_encode(cls: type, version: int):
    """A default-constructed message encodes and decodes at every version."""
    data = bytes(cls().encode(version))
    back, end = cls._decode(data, 0, version)
    assert end == len(data)
    assert bytes(back.encode(version)) == data


# ---------------------------------------------------------------- kafka-python cross-check


@functools.cache
def kp_classes() -> dict[str, type]:
    with warnings.catch_warnings():  # its importlib.resources calls are deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        import kafka.protocol.admin  # noqa: F401  (registers the classes)
        import kafka.protocol.consumer  # noqa: F401
        import kafka.protocol.metadata  # noqa: F401
        import kafka.protocol.producer  # noqa: F401
        from kafka.protocol.api_message import ApiMessage

    found: dict[str, type] = {}
    todo = [ApiMessage]
    while todo:
        c = todo.pop()
        for s in c.__subclasses__():
            todo.append(s)
            if getattr(s, "_class_version", None) is None:
                found[s.__name__] = s
    return found


def default_of(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def to_bits(val: int) -> set[int]:
    u = val & 0xFFFFFFFF
    return {i for i in range(32) if u >> i & 1}


def to_kp(obj: Any, kp_cls: Any, version: int | None = None) -> Any:
    """Our dataclass instance -> a kafka-python DataContainer with the same values.

    Fields pair up by position (both follow the definition's order): kafka-python renames
    a few ``*AuthorizedOperations`` fields and reads them as bit sets ('bitfield')."""
    kw = {}
    ours = dataclasses.fields(obj)
    theirs = list(kp_cls.fields.values())
    assert len(ours) == len(theirs), (type(obj).__name__, kp_cls)
    for mine, fld in zip(ours, theirs, strict=True):
        name = fld.name
        val = getattr(obj, mine.name)
        if fld._json["type"] == "bitfield":
            val = to_bits(val)
        elif fld.is_struct_array() and val is not None:
            val = [to_kp(e, fld.data_class) for e in val]
        elif fld.is_struct() and val is not None:
            val = to_kp(val, fld.data_class)
        elif isinstance(val, memoryview):
            val = bytes(val)
        if fld.tag is not None and val == default_of(mine):
            continue  # kafka-python writes every tagged field it is given; Kafka skips defaults
        kw[name] = val
    if version is not None:
        return kp_cls(version=version, **kw)
    return kp_cls(**kw)


def test_we_generate_every_api_kafka_python_has():
    kp = {n for n in kp_classes() if n.endswith(("Request", "Response"))}
    ours = {c.__name__ for c in list(msgs.REQUESTS.values()) + list(msgs.RESPONSES.values())}
    assert kp <= ours


def _shape(fields: list[dict]) -> list[tuple]:
    """A definition's fields without their prose: what decides the bytes."""
    keys = ("name", "type", "versions", "nullableVersions", "tag", "taggedVersions", "default")
    return [tuple(f.get(k) for k in keys) + (tuple(_shape(f.get("fields", []))),) for f in fields]


@functools.cache
def kp_definition_differs() -> frozenset[str]:
    """Messages whose definition in kafka-python's copy (taken from a newer Kafka) differs
    from the pinned release's: no cross-check is possible for those."""
    import kafka

    theirs = Path(kafka.__file__).parent / "protocol" / "schemas" / "resources"
    out = set()
    for path in theirs.glob("*.json"):
        mine = default_schema_dir() / path.name
        if not mine.exists():
            continue
        a = json.loads(strip_comments(path.read_text()))
        b = json.loads(strip_comments(mine.read_text()))
        common = lambda d: [(c["name"], _shape(c["fields"])) for c in d.get("commonStructs", [])]  # noqa: E731
        if (_shape(a.get("fields", [])), common(a)) != (_shape(b.get("fields", [])), common(b)):
            out.add(a["name"])
    return frozenset(out)


def kp_class_for(cls: type, version: int) -> Any:
    """kafka-python's class for ``cls`` if it covers ``version`` from the same definition,
    else None."""
    if cls.__name__ in kp_definition_differs():
        return None
    k = kp_classes().get(cls.__name__)
    return k if k is not None and version <= k.max_version else None


def check_against_kafka_python(cls: type, kp_cls: Any, version: int, obj: Any, ours: bytes) -> None:
    theirs = bytes(to_kp(obj, kp_cls).encode(version=version))
    assert ours == theirs, "kafka-python writes different bytes"
    assert cls.decode(theirs, version) == obj
    if cls is msgs.ApiVersionsResponse and obj.error_code:
        return  # kafka-python reads an ApiVersions error reply as v0, whatever the version
    back = kp_cls.decode(ours, version=version)
    back._header = None  # kafka-python's decode leaves this slot unset; encode reads it
    assert bytes(back.encode(version=version)) == ours, "kafka-python misreads our bytes"


@pytest.mark.parametrize(("cls", "version"), cases())
def test_round_trip(cls: type, version: int):
    """encode -> decode -> encode is the identity on bytes for random valid instances; where
    kafka-python 3.0 has the API at this version, it writes the same bytes and each side
    reads the other's."""
    kp_cls = kp_class_for(cls, version)

    @ROUND_TRIP
    @given(message_strategy(cls, version))
    def check(obj):
        first = bytes(obj.encode(version))
        back, end = cls._decode(first, 0, version)
        assert end == len(first)
        assert back == obj
        assert bytes(back.encode(version)) == first
        if kp_cls is not None:
            check_against_kafka_python(cls, kp_cls, version, obj, first)

    check()


def test_cross_check_coverage():
    """kafka-python knows, at every version we generate, each request/response class it has
    with the same definition; and that is most of what a broker serves."""
    kp = kp_classes()
    missing = [(c.__name__, v) for c, v in ((p.values[0], p.values[1]) for p in cases())
               if c.API_KEY >= 0 and c.__name__ in kp and kp_class_for(c, v) is None
               and c.__name__ not in kp_definition_differs()]
    assert missing == []
    assert len(kp_definition_differs()) < 20  # a few messages changed after the pinned release


# ---------------------------------------------------------------- kafka-python's hand-written classes
# kafka.protocol.old holds the protocol as kafka-python 2.x wrote it by hand (one Struct per
# version, no JSON): a second, truly independent encoder for the non-flexible versions.

#: Old classes whose shape differs from the definitions although the bytes agree.
OLD_SHAPES_DIFFER = {"CreatePartitionsRequest"}  # nests (count, assignments) in a struct


def old_classes() -> dict[tuple[str, int], Any]:
    import importlib
    import pkgutil

    kp_classes()  # imports kafka quietly
    import kafka.protocol.old as old
    from kafka.protocol.old.struct import Struct

    for m in pkgutil.iter_modules(old.__path__):
        importlib.import_module(f"kafka.protocol.old.{m.name}")
    found: dict[tuple[str, int], Any] = {}
    todo = [Struct]
    while todo:
        c = todo.pop()
        for s in c.__subclasses__():
            todo.append(s)
            key, ver = getattr(s, "API_KEY", None), getattr(s, "API_VERSION", None)
            if isinstance(key, int) and isinstance(ver, int) and "_v" in s.__name__:
                found[(s.__name__.rsplit("_v", 1)[0], ver)] = s
    return found


def old_cases() -> list[Any]:
    ours = {c.__name__: c for c in list(msgs.REQUESTS.values()) + list(msgs.RESPONSES.values())}
    out = []
    for (name, v), oc in sorted(old_classes().items()):
        cls = ours.get(name)
        if cls is None or name in OLD_SHAPES_DIFFER or not cls.MIN_VERSION <= v < cls.FLEXIBLE_FROM:
            continue
        if v > cls.MAX_VERSION:
            continue
        out.append(pytest.param(cls, oc, v, id=f"{name}-v{v}"))
    return out


def to_old(obj: Any, g: MessageGen, fields: list[Field], schema: Any, v: int) -> tuple:
    """Our instance -> the positional tuple an old Schema encodes (fields in wire order)."""
    from kafka.protocol.old.types import BitField, Schema

    present_fields = [f for f in fields if present(f, v, False)]
    assert len(present_fields) == len(schema.fields), (type(obj).__name__, schema.names)
    out = []
    for f, t in zip(present_fields, schema.fields, strict=True):
        val = getattr(obj, f.pyname)
        if val is None:
            pass
        elif f.is_array and f.elem not in PRIMS:
            sub = struct_fields(g, f)
            if isinstance(t.array_of, Schema):
                val = [to_old(e, g, sub, t.array_of, v) for e in val]
            else:  # e.g. Metadata v0-8 topics: Array(String) for a one-field struct
                (only,) = [x for x in sub if present(x, v, False)]
                val = [getattr(e, only.pyname) for e in val]
        elif f.elem not in PRIMS:
            val = to_old(val, g, struct_fields(g, f), t, v)
        elif t is BitField:
            val = to_bits(val)
        elif isinstance(val, memoryview):
            val = bytes(val)
        out.append(val)
    return tuple(out)


@pytest.mark.parametrize(("cls", "old_cls", "version"), old_cases())
def test_same_bytes_as_kafka_python_handwritten(cls: type, old_cls: Any, version: int):
    g = generators()[cls.__name__]

    @settings(max_examples=10, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(message_strategy(cls, version))
    def check(obj):
        ours = bytes(obj.encode(version))
        theirs = old_cls.SCHEMA.encode(list(to_old(obj, g, g.fields, old_cls.SCHEMA, version)))
        assert ours == theirs
        assert cls.decode(theirs, version) == obj
        if not (cls is msgs.ApiVersionsResponse and obj.error_code):  # read as v0 (see above)
            assert old_cls.decode(ours).encode() == ours

    check()


def test_handwritten_coverage():
    """The hand-written cross-check reaches the APIs a broker serves first."""
    got = {(p.values[0].__name__, p.values[2]) for p in old_cases()}
    for name, versions in [("ProduceRequest", range(0, 9)), ("ProduceResponse", range(0, 9)),
                           ("FetchRequest", range(4, 12)), ("FetchResponse", range(4, 12)),
                           ("MetadataRequest", range(0, 9)), ("MetadataResponse", range(0, 9)),
                           ("ApiVersionsRequest", range(0, 3)), ("ApiVersionsResponse", range(0, 3)),
                           ("ListOffsetsRequest", range(1, 6)), ("JoinGroupRequest", range(0, 6))]:
        missing = [v for v in versions if (name, v) not in got]
        assert not missing, (name, missing)


# ---------------------------------------------------------------- hand-picked vectors

def test_metadata_request_from_kafka_python_reads():
    from kafka.protocol.metadata import MetadataRequest as KMeta

    for v in (0, 1, 4, 8, 9, 10, 12):
        topic_cls = KMeta.MetadataRequestTopic
        req = KMeta(topics=[topic_cls(name="alpha", topic_id=None), topic_cls(name="b", topic_id=None)],
                    allow_auto_topic_creation=False, include_topic_authorized_operations=v >= 8)
        data = bytes(req.encode(version=v))
        ours = msgs.MetadataRequest.decode(data, v)
        assert [t.name for t in ours.topics] == ["alpha", "b"]
        assert ours.allow_auto_topic_creation is (v < 4)  # v0-3 always auto-create
        assert bytes(ours.encode(v)) == data


def test_produce_request_from_kafka_python_reads():
    from kafka.protocol.producer import ProduceRequest as KProduce
    from kafka.record.memory_records import MemoryRecordsBuilder

    b = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    b.append(timestamp=1, key=b"k", value=b"v", headers=[("h", b"1")])
    b.close()
    batch = b.buffer()
    for v in (3, 7, 8, 9):
        tpd = KProduce.TopicProduceData
        req = KProduce(transactional_id=None, acks=-1, timeout_ms=1500, topic_data=[
            tpd(name="t", partition_data=[tpd.PartitionProduceData(index=2, records=batch)])])
        data = bytes(req.encode(version=v))
        ours = msgs.ProduceRequest.decode(data, v)
        assert ours.acks == -1 and ours.timeout_ms == 1500 and ours.transactional_id is None
        part = ours.topic_data[0].partition_data[0]
        assert ours.topic_data[0].name == "t" and part.index == 2
        assert bytes(part.records) == bytes(batch)
        assert bytes(ours.encode(v)) == data


def test_api_versions_request_flexible_fields():
    from kafka.protocol.metadata import ApiVersionsRequest as KAV

    data = bytes(KAV(client_software_name="kp", client_software_version="3.0.12").encode(version=3))
    assert data == b"\x03kp\x073.0.12\x00"
    ours = msgs.ApiVersionsRequest.decode(data, 3)
    assert (ours.client_software_name, ours.client_software_version) == ("kp", "3.0.12")


def test_tagged_field_defaults_are_not_written():
    r = msgs.ApiVersionsResponse(error_code=0, api_keys=[], throttle_time_ms=0)
    assert bytes(r.encode(3)) == b"\x00\x00\x01\x00\x00\x00\x00\x00"
    r.finalized_features_epoch = 7
    data = bytes(r.encode(3))
    assert data.endswith(b"\x01\x01\x08" + (7).to_bytes(8, "big"))
    assert msgs.ApiVersionsResponse.decode(data, 3).finalized_features_epoch == 7


def test_unknown_tags_are_skipped():
    # ApiVersionsRequest v3 + a tagged field (tag 9, 2 bytes) nobody knows.
    data = b"\x03kp\x02v\x01\x09\x02ab"
    r, end = msgs.ApiVersionsRequest._decode(data, 0, 3)
    assert end == len(data) and r.client_software_name == "kp"


def test_nullable_struct_marker():
    """A nullable struct is an int8 marker (-1 = null, 1 = present), then the struct."""
    resp = msgs.DescribeTopicPartitionsResponse
    null = bytes(resp(next_cursor=None).encode(0))
    assert null == b"\x00\x00\x00\x00" + b"\x01" + b"\xff" + b"\x00"
    cur = resp.Cursor(topic_name="t", partition_index=3)
    data = bytes(resp(next_cursor=cur).encode(0))
    assert data == b"\x00\x00\x00\x00" + b"\x01" + b"\x01" + b"\x02t" + b"\x00\x00\x00\x03" + b"\x00" + b"\x00"
    assert resp.decode(data, 0).next_cursor == cur
    assert resp.decode(null, 0).next_cursor is None


def test_uuid_zero_default():
    req = msgs.MetadataRequest(topics=[msgs.MetadataRequest.MetadataRequestTopic(name="x")])
    data = bytes(req.encode(12))
    assert data[1:17] == bytes(16)
    assert msgs.MetadataRequest.decode(data, 12).topics[0].topic_id == uuid.UUID(int=0)


# ---------------------------------------------------------------- primitives

PRIM = settings(max_examples=100, deadline=None)


@PRIM
@given(st.integers(0, (1 << 64) - 1))
def test_uvarint_round_trip(n):
    out = bytearray()
    p.write_uvarint(out, n)
    assert len(out) == p.uvarint_size(n)
    assert p.read_uvarint(bytes(out) + b"\xaa", 0) == (n, len(out))


@PRIM
@given(st.integers(-(1 << 63), (1 << 63) - 1))
def test_zigzag_varint_round_trip(n):
    out = bytearray()
    p.write_varint(out, n)
    assert p.read_varint(bytes(out), 0) == (n, len(out))


def test_varint_vectors():
    for n, enc in [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02")]:
        out = bytearray()
        p.write_uvarint(out, n)
        assert bytes(out) == enc
    for n, enc in [(0, b"\x00"), (-1, b"\x01"), (1, b"\x02"), (-64, b"\x7f"), (64, b"\x80\x01")]:
        out = bytearray()
        p.write_varint(out, n)
        assert bytes(out) == enc
    with pytest.raises(p.DecodeError):
        p.read_uvarint(b"\xff" * 11, 0)
    with pytest.raises(ValueError):
        p.write_uvarint(bytearray(), -1)


long_text = st.text(min_size=0, max_size=300)
long_bytes = st.binary(min_size=0, max_size=300)


@PRIM
@given(st.none() | long_text)
def test_strings_round_trip(s):
    for w, r in ((p.write_string, p.read_string), (p.write_cstring, p.read_cstring)):
        out = bytearray()
        w(out, s)
        assert r(memoryview(bytes(out)), 0) == (s, len(out))


@PRIM
@given(st.none() | long_bytes)
def test_bytes_and_records_round_trip(b):
    pairs = ((p.write_bytes, p.read_bytes), (p.write_cbytes, p.read_cbytes),
             (p.write_records, p.read_records), (p.write_crecords, p.read_crecords))
    for w, r in pairs:
        out = p.Writer()
        w(out, b)
        v, end = r(bytes(out), 0)
        assert end == len(out)
        assert (None if v is None else bytes(v)) == b


@PRIM
@given(st.integers(-1, 100_000))
def test_array_lengths(n):
    out = bytearray()
    p.write_array_len(out, n)
    assert p.read_array_len(bytes(out) + bytes(max(n, 0)), 0) == (n, 4)
    out = bytearray()
    p.write_carray_len(out, n)
    assert p.read_carray_len(bytes(out) + bytes(max(n, 0)), 0) == (n, len(out))


@PRIM
@given(st.lists(st.tuples(st.integers(0, 1 << 20), st.binary(max_size=200)), max_size=4,
                unique_by=lambda t: t[0]))
def test_tags_round_trip(tags):
    tags = sorted(tags)
    out = bytearray()
    p.write_tags(out, tags)
    data = bytes(out) + b"rest"
    spans, end = p.read_tags(data, 0)
    assert end == len(out) == p.skip_tags(data, 0)
    assert [(t, data[a:b]) for t, (a, b) in sorted(spans.items())] == tags


def test_long_compact_values_in_a_message():
    """Lengths >= 127 need a two-byte unsigned varint (compact string, array, tags)."""
    topics = [msgs.MetadataRequest.MetadataRequestTopic(name="t" * 200) for _ in range(130)]
    req = msgs.MetadataRequest(topics=topics)
    data = bytes(req.encode(12))
    assert data[:2] == b"\x83\x01"  # 130 + 1
    assert msgs.MetadataRequest.decode(data, 12) == req
    resp = msgs.ApiVersionsResponse(supported_features=[
        msgs.ApiVersionsResponse.SupportedFeatureKey(name="f" * 150, min_version=1, max_version=2)])
    data = bytes(resp.encode(3))
    assert msgs.ApiVersionsResponse.decode(data, 3) == resp


def test_truncated_input_raises():
    with pytest.raises(p.DecodeError):
        p.read_string(b"\x00\x05abc", 0)
    with pytest.raises(p.DecodeError):
        p.read_cstring(b"\x06abc", 0)
    with pytest.raises(p.DecodeError):
        p.read_bytes(b"\x00\x00\x00\x05abc", 0)
    with pytest.raises(p.DecodeError):
        p.read_uuid(b"\x00" * 15, 0)
    with pytest.raises(p.DecodeError):
        p.read_array_len(b"\x7f\xff\xff\xff", 0)
    with pytest.raises(p.DecodeError):
        p.read_tags(b"\x01\x00\x05ab", 0)
    with pytest.raises(p.DecodeError):
        p.skip_tags(b"\x01\x00\x05ab", 0)


# ---------------------------------------------------------------- hostile input

#: What the server treats as "the body does not parse" (it closes the connection).
PARSE_ERRORS = (ValueError, IndexError, struct.error)


def request_classes() -> list[Any]:
    return [pytest.param(c, id=c.__name__) for c in msgs.REQUESTS.values()]


@pytest.mark.parametrize("cls", request_classes())
def test_damaged_requests_fail_cleanly(cls: type):
    """A valid request cut short or with a byte changed either decodes or raises one of the
    errors the server maps to "close the connection" — never anything else."""

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def check(data):
        v = data.draw(st.integers(cls.MIN_VERSION, cls.MAX_VERSION), label="version")
        good = bytes(data.draw(message_strategy(cls, v)).encode(v))
        if not good:
            return  # an empty body (e.g. ApiVersions v0): nothing to damage
        if data.draw(st.booleans(), label="truncate"):
            bad = good[:data.draw(st.integers(0, len(good) - 1), label="cut")]
            try:
                cls._decode(bad, 0, v)
            except PARSE_ERRORS:
                return
            raise AssertionError(f"decoded {len(bad)} of {len(good)} bytes without noticing")
        i = data.draw(st.integers(0, len(good) - 1), label="at")
        bad = good[:i] + bytes([data.draw(st.integers(0, 255), label="byte")]) + good[i + 1:]
        try:
            cls._decode(bad, 0, v)
        except PARSE_ERRORS:
            pass

    check()
