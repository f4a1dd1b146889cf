"""The error codes of a response message, found without knowing its API.

Every generated response class is a dataclass; its ``error_code`` fields sit at the top, in nested
structs and in arrays of structs (a Produce response: topics -> partitions -> ``error_code``).  The
path to them is worked out once per class from the field types (``plan``) and kept, with the branches
that hold no error code cut off, and compiled into a few nested closures (an array of structs whose
only code is their own is counted in one loop), so counting walks only what can hold one (Produce: the
partitions; the current-leader struct and the record errors are never visited).  Only non-zero codes
are counted.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

# (has an error_code field, [(struct field, its plan)], [(array-of-structs field, the element's plan)])
Plan = tuple[bool, tuple[tuple[str, "Plan"], ...], tuple[tuple[str, "Plan"], ...]]
_EMPTY: Plan = (False, (), ())
_PLANS: dict[type, Plan] = {}


def _struct_of(hint: Any) -> type | None:
    """The dataclass a field holds (directly or as ``X | None``), else None."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        found = [a for a in typing.get_args(hint) if isinstance(a, type) and dataclasses.is_dataclass(a)]
        return found[0] if len(found) == 1 else None
    return None


def plan(cls: type, _seen: frozenset[type] = frozenset()) -> Plan:
    """Where ``cls`` keeps error codes (cached per class)."""
    cached = _PLANS.get(cls)
    if cached is not None:
        return cached
    if cls in _seen:  # a recursive struct: no deeper
        return _EMPTY
    seen = _seen | {cls}
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # a type that does not resolve: walk nothing of it
        hints = {}
    has_code = False
    singles: list[tuple[str, Plan]] = []
    arrays: list[tuple[str, Plan]] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name == "error_code":
            has_code = True
            continue
        hint = hints.get(f.name)
        if typing.get_origin(hint) is list:
            (arg,) = typing.get_args(hint) or (None,)
            elem = _struct_of(arg)
            if elem is not None and (sub := plan(elem, seen)) != _EMPTY:
                arrays.append((f.name, sub))
        elif (struct := _struct_of(hint)) is not None and (sub := plan(struct, seen)) != _EMPTY:
            singles.append((f.name, sub))
    out: Plan = (has_code, tuple(singles), tuple(arrays))
    _PLANS[cls] = out
    return out


Counter = Callable[[Any, dict[int, int]], None]
_COUNTERS: dict[type, Counter | None] = {}


def _leaf_array(name: str) -> Counter:
    """An array of structs whose only error code is their own (partitions, mostly): no call per element."""
    def count(obj: Any, out: dict[int, int]) -> None:
        for child in getattr(obj, name) or ():
            code = child.error_code
            if code:
                out[code] = out.get(code, 0) + 1
    return count


def compile_plan(p: Plan) -> Counter:
    """A function counting the error codes ``p`` locates (built once per class)."""
    has_code, singles, arrays = p
    parts: list[Counter] = []
    if has_code:
        def own(obj: Any, out: dict[int, int]) -> None:
            code = obj.error_code
            if code:
                out[code] = out.get(code, 0) + 1
        parts.append(own)
    for name, sub in singles:
        parts.append(_single(name, compile_plan(sub)))
    for name, sub in arrays:
        parts.append(_leaf_array(name) if sub == (True, (), ()) else _array(name, compile_plan(sub)))
    if len(parts) == 1:
        return parts[0]

    def count(obj: Any, out: dict[int, int]) -> None:
        for part in parts:
            part(obj, out)
    return count


def _single(name: str, sub: Counter) -> Counter:
    def count(obj: Any, out: dict[int, int]) -> None:
        child = getattr(obj, name)
        if child is not None:
            sub(child, out)
    return count


def _array(name: str, sub: Counter) -> Counter:
    def count(obj: Any, out: dict[int, int]) -> None:
        for child in getattr(obj, name) or ():
            sub(child, out)
    return count


def count_errors(response: Any, out: dict[int, int]) -> None:
    """Add one to ``out[code]`` for every non-zero ``error_code`` anywhere in ``response``."""
    cls = type(response)
    try:
        counter = _COUNTERS[cls]
    except KeyError:
        p = plan(cls) if dataclasses.is_dataclass(cls) else _EMPTY
        counter = _COUNTERS[cls] = None if p == _EMPTY else compile_plan(p)
    if counter is not None:
        counter(response, out)
