"""What a handler sees of the request it serves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kbroker.broker import Broker


@dataclass(slots=True)
class RequestContext:
    broker: Broker
    api_version: int = 0
    correlation_id: int = 0
    client_id: str | None = None
    peer: str = ""
