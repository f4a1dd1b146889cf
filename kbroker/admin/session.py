"""One connection to a Kafka-compatible cluster for every admin operation, built on kafka-python.

A ``Session`` owns a lazily created ``KafkaAdminClient`` (and makes producers and consumers with the
same settings). Every wait is bounded: bootstrap by ``connect_timeout`` (a broker that is down gives
``BrokerUnavailable`` in seconds, never a hang), requests by ``request_timeout``. Client exceptions come
out as ``AdminError`` subclasses with a message fit for a person; nothing here prints or exits, so the
CLI and the web console (from a thread executor) share it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

CLIENT_ID = "kbroker-admin"
RETRY_PAUSE = 0.25
# kafka-python is imported on first use, not with this module: ``kbroker serve`` registers the client
# commands' parsers and must not pay the client library's import time (~0.2 s) at start-up.


def _errors() -> Any:
    import kafka.errors

    return kafka.errors


def transient() -> tuple[type[BaseException], ...]:
    """Errors a moment later will not show: retried by ``Session.call`` within its request timeout."""
    k = _errors()
    return (k.CoordinatorNotAvailableError, k.NotCoordinatorError, k.CoordinatorLoadInProgressError,
            k.LeaderNotAvailableError, k.NotLeaderForPartitionError)


class AdminError(Exception):
    """An operation failed; ``str(e)`` is the message to show."""


class BrokerUnavailable(AdminError):
    """No broker answered at the bootstrap address within the timeout."""


class NotFound(AdminError):
    """An unknown topic, partition or group."""


class InvalidRequest(AdminError):
    """The broker refused the request (a bad config, a bad partition count, ...)."""


def parse_bootstrap(address: str) -> str:
    """Checks ``HOST:PORT[,HOST:PORT...]`` and returns it."""
    for part in address.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise AdminError(f"bootstrap server {part!r} is not HOST:PORT")
    return address


def error_message(code: int, message: str | None = None) -> str:
    """``UNKNOWN_TOPIC_OR_PARTITION: ...`` from an error code and the broker's optional message."""
    err = _errors().for_code(code)
    name = getattr(err, "message", err.__name__)
    return f"{name}: {message}" if message else str(name)


def raise_for_code(code: int, message: str | None, what: str) -> None:
    if not code:
        return
    kerrors = _errors()
    err = kerrors.for_code(code)
    text = f"{what}: {error_message(code, message)}"
    if err in (kerrors.UnknownTopicOrPartitionError, kerrors.GroupIdNotFoundError):
        thing = "topic" if err is kerrors.UnknownTopicOrPartitionError else "group"
        raise NotFound(f"{what}: the {thing} does not exist ({error_message(code)})")
    raise InvalidRequest(text)


def translate(e: BaseException, what: str) -> AdminError:
    """A kafka-python exception as an ``AdminError`` with a readable message."""
    if isinstance(e, AdminError):
        return e
    kerrors = _errors()
    if isinstance(e, kerrors.KafkaTimeoutError | kerrors.KafkaConnectionError):
        return BrokerUnavailable(f"{what}: no broker answered ({e})")
    if isinstance(e, kerrors.UnknownTopicOrPartitionError | kerrors.GroupIdNotFoundError):
        return NotFound(f"{what}: {getattr(e, 'message', type(e).__name__)}")
    if isinstance(e, kerrors.KafkaError):
        msg = getattr(e, "message", type(e).__name__)
        detail = e.args[0] if e.args and isinstance(e.args[0], str) and "failed with" not in e.args[0] else ""
        return InvalidRequest(f"{what}: {msg}" + (f" ({detail})" if detail else ""))
    if isinstance(e, OSError):
        return BrokerUnavailable(f"{what}: {e}")
    return AdminError(f"{what}: {type(e).__name__}: {e}")


class Session:
    """A bootstrap address and the clients made for it; use as a context manager (``close()``).

    Thread-safe enough for the console: the admin client is created once under a lock and its calls
    block the calling thread only."""

    def __init__(self, bootstrap: str = "127.0.0.1:9092", *, connect_timeout: float = 5.0,
                 request_timeout: float = 15.0, client_id: str = CLIENT_ID) -> None:
        self.bootstrap = parse_bootstrap(bootstrap)
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.client_id = client_id
        self._admin: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._admin is not None:
                admin, self._admin = self._admin, None
                try:
                    admin.close()
                except Exception:  # noqa: BLE001 - closing must not mask the real outcome
                    pass

    # ------------------------------------------------------------ clients

    def common(self) -> dict[str, Any]:
        return {"bootstrap_servers": self.bootstrap.split(","), "client_id": self.client_id,
                "request_timeout_ms": int(self.request_timeout * 1000),
                "bootstrap_timeout_ms": int(self.connect_timeout * 1000)}

    @property
    def admin(self) -> Any:
        """The shared ``KafkaAdminClient`` (created on first use)."""
        with self._lock:
            if self._admin is None:
                from kafka.admin import KafkaAdminClient

                try:
                    self._admin = KafkaAdminClient(**self.common())
                except Exception as e:  # noqa: BLE001
                    raise translate(e, f"cannot connect to {self.bootstrap}") from None
            return self._admin

    def producer(self, **config: Any) -> Any:
        from kafka import KafkaProducer

        settings = self.common()
        settings.pop("bootstrap_timeout_ms")
        settings.setdefault("max_block_ms", int(self.connect_timeout * 1000))
        settings.update(config)
        try:
            return KafkaProducer(**settings)
        except Exception as e:  # noqa: BLE001
            raise translate(e, f"cannot connect to {self.bootstrap}") from None

    def consumer(self, **config: Any) -> Any:
        from kafka import KafkaConsumer

        settings = {**self.common(), "enable_auto_commit": False, **config}
        try:
            return KafkaConsumer(**settings)
        except Exception as e:  # noqa: BLE001
            raise translate(e, f"cannot connect to {self.bootstrap}") from None

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with its exceptions translated. A coordinator or leader that is not
        ready yet (a first group on a new cluster creates __consumer_offsets) is retried until the
        request timeout."""
        deadline = time.monotonic() + self.request_timeout
        retried = transient()
        while True:
            try:
                return fn(*args, **kwargs)
            except retried as e:
                if time.monotonic() + RETRY_PAUSE >= deadline:
                    raise translate(e, what) from None
                time.sleep(RETRY_PAUSE)
            except Exception as e:  # noqa: BLE001
                raise translate(e, what) from None


@contextmanager
def connect(bootstrap: str = "127.0.0.1:9092", **options: Any) -> Iterator[Session]:
    """``with connect("127.0.0.1:9092") as s: ...``"""
    s = Session(bootstrap, **options)
    try:
        yield s
    finally:
        s.close()
