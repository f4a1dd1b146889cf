"""CRC-32C (Castagnoli), the checksum of a v2 record batch, from the ``crc32c`` package's C extension.

The extension is loaded on its own, without running the package's ``__init__``: that ``__init__``
asks ``importlib.metadata`` for the package's own version, which imports the email and csv modules
and scans every ``sys.path`` entry for distribution metadata — about 25 ms, a fifth of a broker's
cold start, for a version string nothing here reads. The function is the same C function either
way; if the package's layout is not the expected one, the package is imported as usual.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

_EXTENSION = "crc32c._crc32c"


def _load() -> Callable[..., int]:
    loaded = sys.modules.get(_EXTENSION)
    if loaded is None:
        try:
            pkg = importlib.machinery.PathFinder.find_spec("crc32c")
            locations = pkg.submodule_search_locations if pkg is not None else None
            spec = importlib.machinery.PathFinder.find_spec(_EXTENSION, list(locations or []))
            if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
                raise ImportError(_EXTENSION)
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
            # registered, so a later ``import crc32c`` (by anyone) reuses this module
            sys.modules[_EXTENSION] = loaded
        except (ImportError, AttributeError, OSError):
            import crc32c

            return crc32c.crc32c  # type: ignore[no-any-return]
    fn: Any = loaded.crc32c
    return fn  # type: ignore[no-any-return]


crc32c: Callable[..., int] = _load()
