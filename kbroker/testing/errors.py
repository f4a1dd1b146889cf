"""What an embedded test broker raises when it is not running as it should."""

from __future__ import annotations


class BrokerCrashed(RuntimeError):
    """The broker failed to start, ended on its own, or did not stop cleanly; the message (and the
    chained exception, in thread mode, or the log tail, in process mode) says why."""


class TopicError(RuntimeError):
    """The broker refused a topic request; ``code`` is Kafka's error code."""

    def __init__(self, topic: str, code: int, message: str | None) -> None:
        from wire.errors import ErrorCode  # a small module (the codes only)

        name = ErrorCode(code).name if code in ErrorCode._value2member_map_ else str(code)
        super().__init__(f"topic {topic!r}: {name}" + (f" ({message})" if message else ""))
        self.topic = topic
        self.code = code
