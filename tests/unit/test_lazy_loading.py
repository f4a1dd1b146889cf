"""What a cold start no longer loads, and that the lazily filled tables are the tables they replace:
wire.lazy's LazyTable, wire.messages' REQUESTS/RESPONSES/DATA and attributes, kbroker.registry's
HANDLERS and kbroker.apis.SERVED, wire.crc and the compression libraries of wire.compression."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import pytest

import kbroker.apis
import wire.messages as msgs
from kbroker.registry import HANDLERS, supported_versions
from tests.support import ROOT
from wire.lazy import LazyTable


def test_lazy_table_loads_each_key_once_on_first_lookup() -> None:
    calls: list[str] = []

    def resolve(key: int, name: str) -> str:
        calls.append(name)
        return name.upper()

    t: dict[int, str] = LazyTable({2: "b", 1: "a", 3: "c"}, resolve)
    assert len(t) == 3 and 1 in t and 4 not in t and calls == []
    assert t[3] == "C" and t[3] == "C" and calls == ["c"]
    assert t.get(1) == "A" and t.get(4) is None and t.get(4, "x") == "x"
    with pytest.raises(KeyError):
        t[4]
    assert list(t) == [2, 1, 3]  # the table's order, not the order of first use
    assert t == {2: "B", 1: "A", 3: "C"} and dict(t) == {2: "B", 1: "A", 3: "C"}
    assert list(t.items()) == [(2, "B"), (1, "A"), (3, "C")] and sorted(calls) == ["a", "b", "c"]


def test_message_tables_hold_the_classes_of_their_modules() -> None:
    names = {**msgs.REQUESTS.names(), **{-k - 1: n for k, n in msgs.RESPONSES.names().items()}}  # type: ignore[attr-defined]
    for key, cls in msgs.REQUESTS.items():
        assert cls.API_KEY == key and cls.__name__ == names[key]
        mod = importlib.import_module(cls.__module__)
        assert getattr(mod, cls.__name__) is cls is getattr(msgs, cls.__name__)
    for key, cls in msgs.RESPONSES.items():
        assert cls.API_KEY == key and msgs.REQUESTS[key].__module__ == cls.__module__
    for name, cls in msgs.DATA.items():
        assert cls.__name__ == name
    assert set(msgs.__dir__()) >= {c.__name__ for c in msgs.REQUESTS.values()}
    with pytest.raises(AttributeError):
        msgs.NoSuchMessage  # noqa: B018


def test_served_table_is_what_every_api_module_registers() -> None:
    modules = {m.name for m in pkgutil.iter_modules(kbroker.apis.__path__)}
    assert {mod for mod, _, _ in kbroker.apis.SERVED.values()} == modules
    for mod in sorted(modules):
        importlib.import_module(f"kbroker.apis.{mod}")
    registered = {k: (h.fn.__module__.rsplit(".", 1)[1], h.min_version, h.max_version)
                  for k, h in dict.items(HANDLERS)}  # what the modules' @handler registered
    assert registered == kbroker.apis.SERVED
    assert supported_versions() == sorted((k, lo, hi) for k, (_, lo, hi) in registered.items())
    for key, h in HANDLERS.items():
        assert h.api_key == key and h.request_cls is msgs.REQUESTS[key]


_PROBE = r"""
import json, sys
import kbroker.cli, kbroker.broker, kbroker.server, wire.codec, wire.records
# a module of importlib.util.LazyLoader that nothing used yet is registered but not loaded
print(json.dumps(sorted(n for n, m in sys.modules.items() if type(m).__name__ != "_LazyModule")))
"""


def test_importing_the_broker_loads_no_handler_and_few_message_modules() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    loaded = json.loads(out)
    assert [m for m in loaded if m.startswith("kbroker.apis.")] == []
    assert [m for m in loaded if m.split(".")[0] in ("zstandard", "cramjam")] == []
    assert "importlib.metadata" not in loaded  # what crc32c's own __init__ would pull in (wire.crc)
    # the messages of the group and CLI modules' own imports, not the ~90 of the package
    assert len([m for m in loaded if m.startswith("wire.messages.")]) < 20


def test_crc32c_is_the_packages_function() -> None:
    import crc32c

    from wire.crc import crc32c as ours

    assert ours is crc32c.crc32c
    assert ours(b"123456789") == 0xE3069283  # the CRC-32C check value


def test_lazily_loaded_compression_libraries_work() -> None:
    from wire import compression as c

    for codec in (c.GZIP, c.SNAPPY, c.LZ4, c.ZSTD):
        data = b"kbroker " * 500
        assert bytes(c.decompress(codec, c.compress(codec, data))) == data
        assert bytes(c.decompress(codec, c.compress(codec, data), limit=len(data))) == data
