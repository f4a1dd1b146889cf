"""The high watermarks of a data directory's partitions: Kafka's ``replication-offset-checkpoint``.

File ``<data_dir>/replication-offset-checkpoint``, Kafka's text format (ASCII, ``\\n`` line ends)::

    0                                format version
    N                                number of entries
    <topic> <partition> <offset>     N lines: a partition's high watermark

Topic names never hold whitespace (Kafka's legal characters are ``[a-zA-Z0-9._-]``), so a single space
separates the fields. ``write`` replaces the file atomically (``storage.checkpoint``: tmp → fsync →
rename → fsync of the directory), the entries sorted by topic and partition. ``read`` of a missing file
is empty; a file that is not exactly this format (wrong version, count not matching the lines, a
field that is not a number, a negative partition or offset, a partition twice) is logged as a
warning and read as empty too: the server then starts each partition's high watermark from what it
can prove (Kafka starts it at the log start offset and lets the leader's fetch answers raise it).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from .checkpoint import write_atomic

__all__ = ["CHECKPOINT_FILE", "read", "write"]

log = logging.getLogger("storage.hw_checkpoint")

CHECKPOINT_FILE = "replication-offset-checkpoint"
_VERSION = 0


def read(path: Path) -> dict[tuple[str, int], int]:
    """``{(topic, partition): high watermark}``; empty when the file is missing or malformed."""
    path = Path(path)
    try:
        text = path.read_text("ascii")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s: unreadable (%s); no high watermark read", path, exc)
        return {}
    try:
        return _parse(text)
    except ValueError as exc:
        log.warning("%s: malformed (%s); no high watermark read", path, exc)
        return {}


def _parse(text: str) -> dict[tuple[str, int], int]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        raise ValueError("no version and count")
    if int(lines[0]) != _VERSION:
        raise ValueError(f"unknown version {lines[0]!r}")
    if int(lines[1]) != len(lines) - 2:
        raise ValueError(f"count {lines[1]!r} but {len(lines) - 2} entries")
    out: dict[tuple[str, int], int] = {}
    for line in lines[2:]:
        fields = line.split(" ")
        if len(fields) != 3 or not fields[0]:
            raise ValueError(f"bad entry {line!r}")
        topic, partition, offset = fields[0], int(fields[1]), int(fields[2])
        if partition < 0 or offset < 0:
            raise ValueError(f"negative partition or offset in {line!r}")
        if (topic, partition) in out:
            raise ValueError(f"{topic}-{partition} twice")
        out[(topic, partition)] = offset
    return out


def write(path: Path, mapping: Mapping[tuple[str, int], int]) -> None:
    """Replace the file with ``mapping``. ValueError (nothing written) for a topic name that is empty
    or holds whitespace, or a negative partition or offset."""
    lines = []
    for (topic, partition), offset in sorted(mapping.items()):
        if not topic or topic.split() != [topic] or not topic.isascii():
            raise ValueError(f"topic name {topic!r} cannot be stored")
        if partition < 0 or offset < 0:
            raise ValueError(f"{topic}-{partition}: negative partition or offset {offset}")
        lines.append(f"{topic} {partition} {offset}\n")
    text = f"{_VERSION}\n{len(lines)}\n" + "".join(lines)
    write_atomic(Path(path), text.encode("ascii"))
