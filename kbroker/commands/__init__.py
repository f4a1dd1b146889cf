"""The client commands of ``kbroker`` (topics, produce, consume, groups, configs, cluster): argument
parsing and printing only; the broker operations are ``kbroker.admin``'s."""

from __future__ import annotations

from typing import Any

from kbroker.commands import cluster, configs, consume, groups, produce, topics

MODULES = (topics, produce, consume, groups, configs, cluster)


def register(sub: Any) -> None:
    """Adds every client command to the ``kbroker`` subcommand parser."""
    for m in MODULES:
        m.register(sub)
