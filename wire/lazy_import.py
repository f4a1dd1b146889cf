"""``lazy_module(name)``: a module object that runs the module's code on its first attribute access.

For the compression libraries of wire.compression: a broker whose clients never compress (the
common test set-up) need not load zstandard, lz4 and cramjam at start-up. This is the standard
library's ``importlib.util.LazyLoader``; once loaded, the object is an ordinary module, so an
attribute access costs what it always costs. A module already imported is returned as it is.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    found = sys.modules.get(name)
    if found is not None:
        return found
    spec = importlib.util.find_spec(name)  # imports the parent package of a dotted name
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:  # as the import system does, so that ``import a.b; a.b`` finds it
        setattr(sys.modules[parent], child, module)
    return module
