"""A dict whose values are loaded on first lookup: the tables of generated message classes, and
any other table of things that live in modules better imported only when used.

``wire.messages`` holds ~90 generated modules; importing them all costs most of a cold start (each
module builds its dataclasses), while a broker or client uses a handful. ``LazyTable`` is the
``REQUESTS``/``RESPONSES``/``DATA`` table of that package: it knows every key up front (with the name
of what the key holds), and calls ``resolve(key, name)`` — which imports the module — the first time
the key is looked up.

It is a real ``dict`` that fills itself, so a key already looked up costs what a plain dict lookup
costs (``table[key]`` runs in C; ``__missing__`` is only called on the first lookup of a key). Anything
that needs the whole table (iteration, ``items``, ``==``...) loads every key first, so it sees the same
table, in the same order, as an eagerly built dict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _collections_abc import dict_items, dict_keys, dict_values

K = TypeVar("K")
V = TypeVar("V")


class LazyTable(dict[K, V]):
    """key -> value for the keys of ``names`` (key -> a name of the value, e.g. a class name);
    ``resolve(key, name)`` produces a value the first time its key is looked up."""

    __slots__ = ("_names", "_resolve", "_complete", "_fill_lock")

    def __init__(self, names: Mapping[K, str], resolve: Callable[[K, str], V]) -> None:
        super().__init__()
        self._names = dict(names)
        self._resolve = resolve
        self._complete = False
        self._fill_lock = threading.Lock()  # one filler; a thread that iterates waits for it

    def __missing__(self, key: K) -> V:
        value = self._resolve(key, self._names[key])  # KeyError for a key the table does not have
        dict.__setitem__(self, key, value)
        return value

    def get(self, key: K, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    def names(self) -> dict[K, str]:
        """key -> name of every entry, loading none."""
        return dict(self._names)

    def _fill(self) -> None:
        if self._complete:
            return
        with self._fill_lock:
            if self._complete:
                return
            loaded = [(key, self[key]) for key in self._names]
            # re-inserted in the table's order, whatever order the keys were first used in (a lookup
            # meanwhile from another thread finds a key missing for a moment and resolves it again)
            dict.clear(self)
            for key, value in loaded:
                dict.__setitem__(self, key, value)
            self._complete = True

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self) -> Iterator[K]:
        self._fill()
        return super().__iter__()

    def keys(self) -> dict_keys[K, V]:
        self._fill()
        return super().keys()

    def values(self) -> dict_values[K, V]:
        self._fill()
        return super().values()

    def items(self) -> dict_items[K, V]:
        self._fill()
        return super().items()

    def __eq__(self, other: object) -> bool:
        self._fill()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]  # as dict's

    def __repr__(self) -> str:
        self._fill()
        return super().__repr__()

    def copy(self) -> dict[K, V]:  # type: ignore[override]
        self._fill()
        return dict(super().items())
