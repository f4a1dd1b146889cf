"""Topic names: Kafka's rules for a legal name, and the internal topics."""

from __future__ import annotations

import re

LEGAL_TOPIC = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


def topic_name_error(name: str) -> str | None:
    """Kafka's message for an illegal topic name, or None when ``name`` is legal."""
    if not name:
        return "Topic name is illegal, it can't be empty"
    if name in (".", ".."):
        return "Topic name cannot be \".\" or \"..\""
    if len(name) > 249:
        return "Topic name is illegal, it can't be longer than 249 characters"
    if not LEGAL_TOPIC.match(name):
        return f"Topic name {name!r} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
    return None
