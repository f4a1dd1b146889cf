"""Exceptions raised by the storage layer; the server maps each to a Kafka error code."""

from __future__ import annotations

__all__ = [
    "StorageError",
    "OffsetOutOfRange",
    "UnexpectedAppendOffset",
    "LogClosedError",
    "TopicAlreadyExists",
    "UnknownTopic",
    "InvalidTopic",
    "InvalidPartitions",
    "InvalidConfig",
]


class StorageError(Exception):
    """Base class for storage failures that are not plain OSErrors (KAFKA_STORAGE_ERROR, 56)."""


class OffsetOutOfRange(StorageError):
    """The requested offset is below the log start or above the log end (OFFSET_OUT_OF_RANGE, 1)."""

    def __init__(self, offset: int, log_start_offset: int, log_end_offset: int) -> None:
        super().__init__(f"offset {offset} is outside [{log_start_offset}, {log_end_offset}]")
        self.offset = offset
        self.log_start_offset = log_start_offset
        self.log_end_offset = log_end_offset


class UnexpectedAppendOffset(StorageError):
    """A follower append whose batches do not continue the log exactly: the first batch's base offset
    is not the log end offset, or a later batch does not start where the one before it ended
    (Kafka's UnexpectedAppendOffsetException; the fetcher truncates or refetches)."""

    def __init__(self, expected: int, base_offset: int, last_offset: int) -> None:
        super().__init__(
            f"batch [{base_offset}, {last_offset}] does not start at the expected offset {expected}"
        )
        self.expected = expected
        self.base_offset = base_offset
        self.last_offset = last_offset


class LogClosedError(StorageError):
    """The partition log was closed or deleted."""


class TopicAlreadyExists(StorageError):
    """TOPIC_ALREADY_EXISTS (36)."""


class UnknownTopic(StorageError):
    """UNKNOWN_TOPIC_OR_PARTITION (3)."""


class InvalidTopic(StorageError):
    """INVALID_TOPIC_EXCEPTION (17): illegal name."""


class InvalidPartitions(StorageError):
    """INVALID_PARTITIONS (37)."""


class InvalidConfig(StorageError):
    """INVALID_CONFIG (40)."""
