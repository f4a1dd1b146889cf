"""The partition log: segments, sparse indexes, crash recovery, topic metadata (no asyncio, no I/O
beyond files; uses only ``wire.records`` from the codec)."""

from .errors import (
    InvalidConfig,
    InvalidPartitions,
    InvalidTopic,
    LogClosedError,
    OffsetOutOfRange,
    StorageError,
    TopicAlreadyExists,
    UnexpectedAppendOffset,
    UnknownTopic,
)
from .log import AppendInfo, FileSlice, LogConfig, PartitionLog
from .topics import LogManager, TopicMeta, TopicStore

__all__ = [
    "AppendInfo",
    "FileSlice",
    "InvalidConfig",
    "InvalidPartitions",
    "InvalidTopic",
    "LogClosedError",
    "LogConfig",
    "LogManager",
    "OffsetOutOfRange",
    "PartitionLog",
    "StorageError",
    "TopicAlreadyExists",
    "TopicMeta",
    "TopicStore",
    "UnexpectedAppendOffset",
    "UnknownTopic",
]
