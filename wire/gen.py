"""Generate ``wire/messages/*.py`` from Kafka's JSON message definitions.

    python -m wire.gen            # rewrite wire/messages/
    python -m wire.gen --check    # exit 1 if regenerating would change anything

The input is Apache Kafka's own definitions (``clients/src/main/resources/common/message``)
as they ship inside the ``org.apache.kafka:kafka-clients`` jar of one pinned release,
``KAFKA_RELEASE``.  ``scripts/install-deps.sh`` downloads that jar from Maven Central into
the git-ignored ``compat/.cache/java/kafka-clients-<release>/`` (the local Maven repository
is also looked in); the definitions are unpacked once into ``.cache/kafka-message-defs/``.
``--jar`` or ``--schemas DIR`` name another input.  The generated code is committed;
``tests/unit/test_codegen.py`` fails when it is stale.

Each API becomes one module with a ``<Name>Request`` and ``<Name>Response`` slotted
dataclass.  Nested structs are nested classes.  ``_decode(buf, pos, version)`` and
``_encode(out, version)`` are straight-line code with a version check per field, so
that one class covers every version.  ``wire/messages/__init__.py`` also records the
release (``KAFKA_RELEASE``) and the version range a broker of that release advertises for
each API (``BROKER_VERSIONS``): ``validVersions``, less a latest version the definition
marks unstable (``latestVersionUnstable``: a Kafka broker advertises it only when
``unstable.api.versions.enable`` is set), for the APIs a broker listener serves.
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

OUT_DIR = Path(__file__).parent / "messages"

# Definitions of type "data" that kbroker uses (the others are KRaft's own records).
DATA_DEFINITIONS = {"ConsumerProtocolAssignment", "ConsumerProtocolSubscription", "EndTxnMarker",
                    "DefaultPrincipalData"}

# Versions a definition dropped in Kafka 4 but that clients still need to see
# advertised; their fields are still described (as "0+"), so they decode.
MIN_VERSION_OVERRIDES = {"Produce": 0}

PRIMS = {"bool", "int8", "int16", "int32", "int64", "uint16", "uint32", "float64",
         "string", "bytes", "records", "uuid"}
FIXED = {"int8": ("I8", 1), "int16": ("I16", 2), "int32": ("I32", 4), "int64": ("I64", 8),
         "uint16": ("U16", 2), "uint32": ("U32", 4), "float64": ("F64", 8)}


KAFKA_RELEASE = "4.1.1"
ROOT = Path(__file__).resolve().parent.parent
DEFS_CACHE = ROOT / ".cache" / "kafka-message-defs"


def find_clients_jar(release: str = KAFKA_RELEASE) -> Path:
    name = f"kafka-clients-{release}.jar"
    candidates = [ROOT / "compat" / ".cache" / "java" / f"kafka-clients-{release}" / name,
                  Path(os.path.expanduser("~")) / ".m2" / "repository" / "org" / "apache" / "kafka"
                  / "kafka-clients" / release / name]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(
        f"{name} not found (looked in {', '.join(str(c.parent) for c in candidates)}); "
        f"run `bash compat/java/fetch-jars.sh {release}` (scripts/install-deps.sh does it)")


def unpack_definitions(jar: Path, dest: Path) -> Path:
    """The ``common/message/*.json`` files of ``jar``, unpacked once into ``dest``."""
    marker = dest / ".complete"
    if marker.exists():
        return dest
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jar) as z:
        for info in z.infolist():
            if info.filename.startswith("common/message/") and info.filename.endswith(".json"):
                (tmp / Path(info.filename).name).write_bytes(z.read(info))
    (tmp / ".complete").write_text(f"{jar.name}\n")
    if dest.exists():
        for p in dest.iterdir():
            p.unlink()
        dest.rmdir()
    tmp.rename(dest)
    return dest


def default_schema_dir() -> Path:
    """Kafka ``KAFKA_RELEASE``'s message definitions, from its kafka-clients jar."""
    dest = DEFS_CACHE / KAFKA_RELEASE
    if (dest / ".complete").exists():
        return dest
    return unpack_definitions(find_clients_jar(), dest)


def strip_comments(text: str) -> str:
    out = []
    i, n = 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Versions:
    lo: int
    hi: int | None  # None = open ended; lo > hi = empty

    @staticmethod
    def parse(s: str | None) -> Versions:
        if s is None or s == "none":
            return Versions(1, 0)
        if s.endswith("+"):
            return Versions(int(s[:-1]), None)
        if "-" in s:
            a, b = s.split("-")
            return Versions(int(a), int(b))
        return Versions(int(s), int(s))

    def empty(self) -> bool:
        return self.hi is not None and self.lo > self.hi

    def clip(self, lo: int, hi: int) -> Versions:
        a = max(self.lo, lo)
        b = hi if self.hi is None else min(self.hi, hi)
        return Versions(a, b)

    def cond(self, lo: int, hi: int) -> str | None:
        """A Python condition on ``version`` for this range within [lo, hi]; None = always."""
        c = self.clip(lo, hi)
        if c.empty():
            return "False"
        parts = []
        if c.lo > lo:
            parts.append(f"version >= {c.lo}")
        if c.hi is not None and c.hi < hi:
            parts.append(f"version <= {c.hi}")
        return " and ".join(parts) or None


def snake(name: str) -> str:
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    return s + "_" if keyword.iskeyword(s) else s


@dataclass
class Field:
    name: str
    type: str
    versions: Versions
    nullable: Versions
    tag: int | None
    tagged: Versions
    default: str | None
    fields: list[Field] = field(default_factory=list)

    @property
    def pyname(self) -> str:
        return snake(self.name)

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def elem(self) -> str:
        return self.type[2:] if self.is_array else self.type


def _norm_default(d: object) -> str | None:
    if isinstance(d, bool):
        return "true" if d else "false"
    return None if d is None else str(d)


def parse_fields(raw: list[dict]) -> list[Field]:
    out = []
    for f in raw:
        out.append(Field(
            name=f["name"], type=f["type"], versions=Versions.parse(f.get("versions")),
            nullable=Versions.parse(f.get("nullableVersions")),
            tag=f.get("tag"), tagged=Versions.parse(f.get("taggedVersions")),
            default=_norm_default(f.get("default")), fields=parse_fields(f.get("fields", []))))
    return out


@dataclass
class Struct:
    name: str
    fields: list[Field]


class MessageGen:
    def __init__(self, spec: dict, api: str):
        self.spec = spec
        self.name: str = spec["name"]
        vv = Versions.parse(spec["validVersions"])
        self.lo = MIN_VERSION_OVERRIDES.get(api, vv.lo) if spec["type"] != "data" else vv.lo
        self.hi = vv.hi if vv.hi is not None else vv.lo
        fv = Versions.parse(spec.get("flexibleVersions", "none"))
        self.flex_from = fv.lo if not fv.empty() else 10_000
        self.fields = parse_fields(spec.get("fields", []))
        self.common = {c["name"]: Struct(c["name"], parse_fields(c["fields"]))
                       for c in spec.get("commonStructs", [])}
        self.structs: list[Struct] = []  # dependency order
        self._collect(self.fields)
        for s in self.common.values():
            if s not in self.structs:
                self._collect(s.fields)
                self.structs.append(s)

    def _collect(self, fields: list[Field]) -> None:
        for f in fields:
            et = f.elem
            if et in PRIMS:
                continue
            if f.fields:
                self._collect(f.fields)
                if all(s.name != et for s in self.structs):
                    self.structs.append(Struct(et, f.fields))
            elif et in self.common:
                s = self.common[et]
                if s not in self.structs:
                    self._collect(s.fields)
                    self.structs.append(s)
            else:
                raise ValueError(f"{self.name}: unknown type {f.type}")

    # ------------------------------------------------------------ helpers
    def qual(self, struct: str) -> str:
        return f"_{self.name}_{struct}"

    def flex_mode(self, f: Field) -> str:
        """'c' compact always, 'n' never, 'b' both (runtime check)."""
        c = f.versions.clip(self.lo, self.hi)
        if c.empty():
            return "n"
        hi = c.hi if c.hi is not None else self.hi
        if c.lo >= self.flex_from:
            return "c"
        if hi < self.flex_from:
            return "n"
        return "b"

    def default_expr(self, f: Field) -> tuple[str, bool]:
        """(expression, needs_factory)."""
        d = f.default
        t = f.type
        if f.is_array:
            return ("list", True) if d != "null" else ("None", False)
        if t in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
            return (str(int(d, 0)) if d not in (None, "") else "0"), False
        if t == "float64":
            return (repr(float(d)) if d else "0.0"), False
        if t == "bool":
            return ("True" if d == "true" else "False"), False
        if t == "string":
            if d == "null":
                return "None", False
            return repr(d or ""), False
        if t == "bytes":
            return ("None" if d == "null" else "b''"), False
        if t == "records":
            return "None", False
        if t == "uuid":
            return "ZERO_UUID", False
        # struct
        if d == "null":
            return "None", False
        return f"{self.qual(t)}", True

    # ------------------------------------------------------------ decode
    def read_elem(self, t: str, var: str, mode: str, ind: str) -> list[str]:
        if t in FIXED:
            s, n = FIXED[t]
            return [f"{ind}({var},) = {s}.unpack_from(buf, pos)", f"{ind}pos += {n}"]
        if t == "bool":
            return [f"{ind}{var} = buf[pos] != 0", f"{ind}pos += 1"]
        if t == "uuid":
            return [f"{ind}{var}, pos = read_uuid(buf, pos)"]
        if t in ("string", "bytes", "records"):
            fn = {"string": "string", "bytes": "bytes", "records": "records"}[t]
            if mode == "c":
                return [f"{ind}{var}, pos = read_c{fn}(buf, pos)"]
            if mode == "n":
                return [f"{ind}{var}, pos = read_{fn}(buf, pos)"]
            return [f"{ind}{var}, pos = (read_c{fn} if flex else read_{fn})(buf, pos)"]
        return [f"{ind}{var}, pos = {self.qual(t)}._decode(buf, pos, version)"]

    def read_field(self, f: Field, var: str, ind: str) -> list[str]:
        mode = self.flex_mode(f)
        if f.is_array:
            lines = []
            if mode == "c":
                lines.append(f"{ind}_n, pos = read_carray_len(buf, pos)")
            elif mode == "n":
                lines.append(f"{ind}_n, pos = read_array_len(buf, pos)")
            else:
                lines.append(f"{ind}_n, pos = (read_carray_len if flex else read_array_len)(buf, pos)")
            lines.append(f"{ind}if _n < 0:")
            lines += self.null_check(f, ind + "    ")
            lines.append(f"{ind}    {var} = None")
            lines.append(f"{ind}else:")
            lines.append(f"{ind}    {var} = []")
            lines.append(f"{ind}    for _ in range(_n):")
            lines += self.read_elem(f.elem, "_e", mode, ind + "        ")
            lines.append(f"{ind}        {var}.append(_e)")
            return lines
        if f.elem not in PRIMS and not f.nullable.empty():
            cond = f.nullable.cond(self.lo, self.hi)
            if cond != "False":
                lines = []
                inner = ind
                if cond:
                    lines.append(f"{ind}_m = 1")
                    lines.append(f"{ind}if {cond}:")
                    lines.append(f"{ind}    (_m,) = I8.unpack_from(buf, pos)")
                    lines.append(f"{ind}    pos += 1")
                else:
                    lines.append(f"{ind}(_m,) = I8.unpack_from(buf, pos)")
                    lines.append(f"{ind}pos += 1")
                lines.append(f"{inner}if _m < 0:")
                lines.append(f"{inner}    {var} = None")
                lines.append(f"{inner}else:")
                return lines + self.read_elem(f.elem, var, mode, inner + "    ")
        lines = self.read_elem(f.elem, var, mode, ind)
        if f.elem in ("string", "bytes"):
            check = self.null_check(f, ind + "    ")
            if check:
                lines += [f"{ind}if {var} is None:"] + check
        return lines

    def null_check(self, f: Field, ind: str) -> list[str]:
        """Kafka refuses a null where the definition does not allow one (its parser throws,
        and the broker closes the connection): raise DecodeError unless nullable here."""
        msg = f'raise DecodeError("non-nullable field {f.name} was serialized as null")'
        if f.nullable.empty():
            return [f"{ind}{msg}"]
        cond = f.nullable.cond(self.lo, self.hi)
        if cond is None:
            return []
        return [f"{ind}if not ({cond}):", f"{ind}    {msg}"]

    def gen_decode(self, cls: str, fields: list[Field], top: bool) -> list[str]:
        L = ["    @classmethod",
             f"    def _decode(cls, buf: Any, pos: int, version: int) -> tuple[{cls}, int]:"]
        if self.flex_from <= self.hi:
            L.append(f"        flex = version >= {self.flex_from}")
        plain = [f for f in fields if f.tag is None]
        tagged = [f for f in fields if f.tag is not None]
        for f in plain:
            cond = f.versions.cond(self.lo, self.hi)
            v = f.pyname
            if cond == "False":
                L.append(f"        {v} = {self.value_default(f)}")
                continue
            if cond:
                L.append(f"        if {cond}:")
                L += self.read_field(f, v, "            ")
                L.append("        else:")
                L.append(f"            {v} = {self.value_default(f)}")
            else:
                L += self.read_field(f, v, "        ")
        for f in tagged:
            L.append(f"        {f.pyname} = {self.value_default(f)}")
        if self.flex_from <= self.hi:
            if tagged:
                L.append("        if flex:")
                L.append("            _tags, pos = read_tags(buf, pos)")
                for f in tagged:
                    L.append(f"            _span = _tags.get({f.tag})")
                    cond = f.tagged.cond(self.lo, self.hi)
                    L.append("            if _span is not None" + (f" and {cond}" if cond else "") + ":")
                    L.append("                _end, pos = pos, _span[0]")
                    L += self.read_field(f, f.pyname, "                ")
                    L.append("                pos = _end")
            else:
                L.append("        if flex:")
                L.append("            pos = skip_tags(buf, pos)")
        args = ", ".join(f"{f.pyname}={f.pyname}" for f in fields)
        L.append(f"        return cls({args}), pos")
        return L

    def value_default(self, f: Field) -> str:
        expr, factory = self.default_expr(f)
        return f"{expr}()" if factory else expr

    # ------------------------------------------------------------ encode
    def write_elem(self, t: str, val: str, mode: str, ind: str) -> list[str]:
        if t in FIXED:
            s, _ = FIXED[t]
            return [f"{ind}out += {s}.pack({val})"]
        if t == "bool":
            return [f"{ind}out.append(1 if {val} else 0)"]
        if t == "uuid":
            return [f"{ind}write_uuid(out, {val})"]
        if t in ("string", "bytes", "records"):
            if mode == "c":
                return [f"{ind}write_c{t}(out, {val})"]
            if mode == "n":
                return [f"{ind}write_{t}(out, {val})"]
            return [f"{ind}(write_c{t} if flex else write_{t})(out, {val})"]
        return [f"{ind}{val}._encode(out, version)"]

    def write_field(self, f: Field, val: str, ind: str) -> list[str]:
        mode = self.flex_mode(f)
        if f.is_array:
            lines = [f"{ind}_a = {val}", f"{ind}if _a is None:"]
            if mode == "c":
                lines.append(f"{ind}    out.append(0)")
            elif mode == "n":
                lines.append(f"{ind}    out += b'\\xff\\xff\\xff\\xff'")
            else:
                lines.append(f"{ind}    out += b'\\x00' if flex else b'\\xff\\xff\\xff\\xff'")
            lines.append(f"{ind}else:")
            if mode == "c":
                lines.append(f"{ind}    write_carray_len(out, len(_a))")
            elif mode == "n":
                lines.append(f"{ind}    write_array_len(out, len(_a))")
            else:
                lines.append(f"{ind}    (write_carray_len if flex else write_array_len)(out, len(_a))")
            lines.append(f"{ind}    for _e in _a:")
            lines += self.write_elem(f.elem, "_e", mode, ind + "        ")
            return lines
        if f.elem not in PRIMS and not f.nullable.empty():
            cond = f.nullable.cond(self.lo, self.hi)
            if cond != "False":
                lines = []
                pre = f"{ind}if {cond}:" if cond else None
                inner = ind + ("    " if pre else "")
                if pre:
                    lines.append(pre)
                lines.append(f"{inner}out.append(0xFF if {val} is None else 1)")
                lines.append(f"{ind}if {val} is not None:")
                lines += self.write_elem(f.elem, val, mode, ind + "    ")
                return lines
        return self.write_elem(f.elem, val, mode, ind)

    def gen_encode(self, fields: list[Field]) -> list[str]:
        L = ["    def _encode(self, out: Writer, version: int) -> None:"]
        if self.flex_from <= self.hi:
            L.append(f"        flex = version >= {self.flex_from}")
        plain = [f for f in fields if f.tag is None]
        tagged = [f for f in fields if f.tag is not None]
        for f in plain:
            cond = f.versions.cond(self.lo, self.hi)
            if cond == "False":
                continue
            val = f"self.{f.pyname}"
            if cond:
                L.append(f"        if {cond}:")
                L += self.write_field(f, val, "            ")
            else:
                L += self.write_field(f, val, "        ")
        if self.flex_from <= self.hi:
            L.append("        if flex:")
            if tagged:
                L.append("            _tagged = []")
                for f in sorted(tagged, key=lambda x: x.tag or 0):
                    cond = f.tagged.cond(self.lo, self.hi)
                    dflt = self.value_default(f)
                    test = f"self.{f.pyname} != {dflt}"
                    L.append(f"            if {test}" + (f" and {cond}" if cond else "") + ":")
                    L.append("                _o, out = out, Writer()")
                    L += self.write_field(f, f"self.{f.pyname}", "                ")
                    L.append(f"                _tagged.append(({f.tag}, bytes(out)))")
                    L.append("                out = _o")
                L.append("            write_tags(out, _tagged)")
            else:
                L.append("            out.append(0)")
        if len(L) == 1:
            L.append("        pass")
        return L

    # ------------------------------------------------------------ class
    def py_type(self, f: Field) -> str:
        t = f.elem
        base = {"bool": "bool", "int8": "int", "int16": "int", "int32": "int", "int64": "int",
                "uint16": "int", "uint32": "int", "float64": "float", "string": "str",
                "bytes": "bytes", "records": "Any", "uuid": "uuid.UUID"}.get(t, self.qual(t))
        if f.is_array:
            base = f"list[{base}]"
        if base != "Any" and (not f.nullable.empty() or self.default_expr(f)[0] == "None"):
            base += " | None"
        return base

    def field_decls(self, fields: list[Field], ind: str) -> list[str]:
        L = []
        for f in fields:
            expr, factory = self.default_expr(f)
            if factory:
                L.append(f"{ind}{f.pyname}: {self.py_type(f)} = field(default_factory={expr})")
            else:
                L.append(f"{ind}{f.pyname}: {self.py_type(f)} = {expr}")
        return L

    def gen_struct(self, s: Struct) -> list[str]:
        L = ["@dataclass(slots=True, kw_only=True)", f"class {self.qual(s.name)}:"]
        L += self.field_decls(s.fields, "    ")
        L.append("")
        L += self.gen_decode(self.qual(s.name), s.fields, False)
        L.append("")
        L += self.gen_encode(s.fields)
        L.append("")
        L.append("")
        return L

    def generate(self) -> list[str]:
        api_key = self.spec.get("apiKey", -1)
        L = []
        for s in self.structs:
            L += self.gen_struct(s)
        L += ["@dataclass(slots=True, kw_only=True)", f"class {self.name}:"]
        L.append(f"    API_KEY: ClassVar[int] = {api_key}")
        L.append(f"    MIN_VERSION: ClassVar[int] = {self.lo}")
        L.append(f"    MAX_VERSION: ClassVar[int] = {self.hi}")
        L.append(f"    FLEXIBLE_FROM: ClassVar[int] = {self.flex_from}")
        L.append("")
        for s in self.structs:
            L.append(f"    {s.name} = {self.qual(s.name)}")
        L.append("")
        L += self.field_decls(self.fields, "    ")
        L.append("")
        L += self.gen_decode(self.name, self.fields, True)
        L.append("")
        L += self.gen_encode(self.fields)
        L.append("")
        L += ["    @classmethod",
              f"    def decode(cls, buf: Any, version: int, pos: int = 0) -> {self.name}:",
              "        return cls._decode(buf, pos, version)[0]",
              "",
              "    def encode(self, version: int) -> Writer:",
              "        out = Writer()",
              "        self._encode(out, version)",
              "        return out"]
        return L


HEADER = '''"""Kafka {api} (key {key}) messages.  GENERATED by `python -m wire.gen` from Kafka's
message definitions; do not edit by hand."""
# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wire.primitives import *  # noqa: F403
'''


def load_specs(schema_dir: Path) -> dict[str, dict[str, dict]]:
    """api name -> {"request": spec, "response": spec} (or {"data": spec})."""
    apis: dict[str, dict[str, dict]] = {}
    for p in sorted(schema_dir.glob("*.json")):
        spec = json.loads(strip_comments(p.read_text()))
        t = spec["type"]
        if t == "header":
            continue
        name = spec["name"]
        if t in ("request", "response"):
            api = name[: -len("Request")] if t == "request" else name[: -len("Response")]
        else:
            api = name
        apis.setdefault(api, {})[t] = spec
    return apis


def broker_range(spec: dict, api: str) -> tuple[int, int] | None:
    """The range a Kafka broker advertises for a request definition, None if no broker
    listener serves it (controller-only, or no valid version)."""
    if "broker" not in spec.get("listeners", []):
        return None
    vv = Versions.parse(spec["validVersions"])
    if vv.empty():
        return None
    lo = MIN_VERSION_OVERRIDES.get(api, vv.lo)
    hi = vv.hi if vv.hi is not None else vv.lo
    if spec.get("latestVersionUnstable", False):
        hi -= 1
    return (lo, hi) if hi >= lo else None


INIT_HEADER = '''"""Generated message classes, one module per API (`python -m wire.gen`).

A message module is imported the first time one of its classes is used — as an attribute of this
package (``wire.messages.FetchRequest``) or through ``REQUESTS``/``RESPONSES``/``DATA`` (see
wire.lazy) — so importing the package, or one module of it, does not build all ~90 of them."""
# ruff: noqa
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from wire.lazy import LazyTable
'''

INIT_LOADER = '''def _load(name: str) -> type:
    cls = getattr(importlib.import_module(f"wire.messages.{_MODULES[name]}"), name)
    globals()[name] = cls  # the next access is a plain attribute
    return cls


def __getattr__(name: str) -> type:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _load(name)


def _entry(key: object, name: str) -> type:
    return _load(name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))

'''


def render_all(schema_dir: Path, release: str = KAFKA_RELEASE) -> dict[str, str]:
    files: dict[str, str] = {}
    apis = load_specs(schema_dir)
    registry_imports = []
    module_entries = []
    req_entries = []
    resp_entries = []
    broker_entries = []
    data_entries = []
    for api, parts in sorted(apis.items()):
        if "data" in parts and parts["data"]["name"] not in DATA_DEFINITIONS:
            continue
        if any(Versions.parse(spec["validVersions"]).empty() for spec in parts.values()):
            continue  # an API the release removed (its definition is kept, with no version)
        if "request" in parts and "response" not in parts or "response" in parts and "request" not in parts:
            raise ValueError(f"{api}: a request without a response or the other way round")
        mod = snake(api)
        key = parts.get("request", parts.get("response", parts.get("data", {}))).get("apiKey", "-")
        text = HEADER.format(api=api, key=key)
        names = []
        for kind in ("request", "response", "data"):
            if kind in parts:
                g = MessageGen(parts[kind], api)
                text += "\n\n" + "\n".join(g.generate()) + "\n"
                names.append(g.name)
        files[f"{mod}.py"] = text
        registry_imports.append(f"    from wire.messages.{mod} import {', '.join(names)}")
        module_entries += [f"    {n!r}: {mod!r}," for n in names]
        if "data" in parts:
            data_entries.append(f"    {parts['data']['name']!r}: {parts['data']['name']!r},")
        if "request" in parts:
            req_entries.append(f"    {parts['request']['apiKey']}: {parts['request']['name']!r},")
            resp_entries.append(f"    {parts['response']['apiKey']}: {parts['response']['name']!r},")
            rng = broker_range(parts["request"], api)
            if rng is not None:
                broker_entries.append((parts["request"]["apiKey"], f"    {parts['request']['apiKey']}: {rng},  # {api}"))
    init = [INIT_HEADER, "if TYPE_CHECKING:"] + registry_imports + [
        "", "# class name -> its module", "_MODULES: dict[str, str] = {"] + module_entries + ["}", "",
        "", INIT_LOADER,
        "REQUESTS: dict[int, type] = LazyTable({"] + req_entries + ["}, _entry)", "",
        "RESPONSES: dict[int, type] = LazyTable({"] + resp_entries + ["}, _entry)", "",
        "# definitions of type data (embedded in other messages or records)",
        "DATA: dict[str, type] = LazyTable({"] + data_entries + ["}, _entry)", "",
        f'KAFKA_RELEASE = "{release}"', "",
        "# what a broker of KAFKA_RELEASE advertises for each API its broker listener serves",
        "BROKER_VERSIONS: dict[int, tuple[int, int]] = {"] + [e for _, e in sorted(broker_entries)] + ["}", ""]
    files["__init__.py"] = "\n".join(init)
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--schemas", type=Path, default=None, help="a folder of definitions")
    ap.add_argument("--jar", type=Path, default=None, help="a kafka-clients jar")
    args = ap.parse_args(argv)
    if args.jar:
        schemas = unpack_definitions(args.jar, DEFS_CACHE / args.jar.stem)
    else:
        schemas = args.schemas or default_schema_dir()
    files = render_all(schemas)
    if args.check:
        stale = [n for n, t in files.items()
                 if not (OUT_DIR / n).exists() or (OUT_DIR / n).read_text() != t]
        extra = [p.name for p in OUT_DIR.glob("*.py") if p.name not in files]
        if stale or extra:
            print("stale generated files:", ", ".join(stale + extra))
            return 1
        print(f"{len(files)} generated files up to date")
        return 0
    OUT_DIR.mkdir(exist_ok=True)
    for n, t in files.items():
        (OUT_DIR / n).write_text(t)
    print(f"wrote {len(files)} files to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
