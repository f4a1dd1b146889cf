"""A process-wide, bounded cache of open segment and index file descriptors.

Each ``.log``, ``.index`` and ``.timeindex`` file is a ``FileHandle``: a path and open flags, opened
on first use and closed again by the cache when more than ``budget`` handles are open and it is the
least recently used one that nobody is using. With thousands of partitions the broker then needs
``budget`` descriptors for its files whatever the number of segments; the default budget is half
the soft RLIMIT_NOFILE (read when the cache is made, after start-up raised it) minus a reserve, and
the rest stays for sockets.

Using a descriptor means pinning it: ``pin`` opens the file if needed and returns its number, and
until the matching ``unpin`` the cache never closes it, so a number handed out can never be closed
and reused for another file meanwhile. Operations pin around their system calls
(``with handle.use() as fd``); a ``FileSlice`` does not pin while it waits in a response, only while
the sender's pread or sendfile (across its awaits) runs, so a fetch of thousands of partitions needs
no descriptor per partition. When every open handle is pinned the cache goes over its budget rather
than fail. ``close`` marks a handle closed for good: its descriptor is closed at once, or at the last
unpin if it is pinned. Files are reopened by path, so whoever renames a file must pin its handle
across the rename and then set ``path`` (see ``Segment.rename_to_deleted``).

Thread-safe: one lock guards the cache; ``os.open`` and ``os.close`` run under it (they are short).
"""

from __future__ import annotations

import errno
import os
import resource
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["FileHandle", "HandleCache", "handles", "default_budget"]

_RESERVE = 128  # descriptors kept out of the file budget for sockets, pipes, the selector ...
_MIN_BUDGET = 16


def default_budget() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft > 1 << 20:
        soft = 1 << 20
    return max(_MIN_BUDGET, soft // 2 - _RESERVE)


class HandleCache:
    def __init__(self, budget: int | None = None) -> None:
        self._lock = threading.Lock()
        self._open: OrderedDict[FileHandle, None] = OrderedDict()  # least recently used first
        self.budget = budget if budget is not None else default_budget()

    def reset_budget(self, budget: int | None = None) -> None:
        """Set the budget (from the current soft limit by default), e.g. after raising the limit."""
        with self._lock:
            self.budget = budget if budget is not None else default_budget()
            self._evict()

    @property
    def open_count(self) -> int:
        return len(self._open)

    def _evict(self) -> None:
        """Close least recently used unpinned handles until one more fits the budget."""
        while len(self._open) >= self.budget:
            for handle in self._open:  # least recently used first; pinned ones are skipped
                if handle.pins == 0:
                    break
            else:
                return  # everything is in use: go over the budget rather than fail
            handle._close_fd()

    def _pin(self, handle: FileHandle) -> int:
        with self._lock:
            if handle.closed:
                raise OSError(errno.EBADF, "file handle closed", str(handle.path))
            if handle.fd < 0:
                self._evict()
                try:
                    handle.fd = os.open(handle.path, handle.flags)
                except OSError as exc:
                    if exc.errno not in (errno.EMFILE, errno.ENFILE):
                        raise
                    # Out of descriptors anyway: give back every idle one and try once more.
                    for other in list(self._open):
                        if other.pins == 0:
                            other._close_fd()
                    handle.fd = os.open(handle.path, handle.flags)
                self._open[handle] = None
            else:
                self._open.move_to_end(handle)
            handle.pins += 1
            return handle.fd

    def _unpin(self, handle: FileHandle) -> None:
        with self._lock:
            handle.pins -= 1
            if handle.pins == 0 and handle.closed:
                handle._close_fd()

    def _adopt(self, handle: FileHandle, fd: int) -> None:
        with self._lock:
            self._evict()
            handle.fd = fd
            self._open[handle] = None

    def _close(self, handle: FileHandle) -> None:
        with self._lock:
            handle.closed = True
            if handle.pins == 0:
                handle._close_fd()


handles = HandleCache()


class FileHandle:
    """One file of a segment, opened and closed by the cache (see the module docstring)."""

    __slots__ = ("path", "flags", "fd", "pins", "closed", "cache", "__weakref__")

    def __init__(self, path: Path, flags: int, fd: int = -1, cache: HandleCache | None = None) -> None:
        self.path = path
        self.flags = flags & ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC)  # reopening never creates
        self.fd = -1
        self.pins = 0
        self.closed = False
        self.cache = cache if cache is not None else handles
        if fd >= 0:
            self.cache._adopt(self, fd)

    @classmethod
    def create(cls, path: Path, flags: int, mode: int = 0o644, cache: HandleCache | None = None) -> FileHandle:
        """Open (and maybe create or truncate) ``path`` now; later reopens use ``flags`` without
        O_CREAT/O_EXCL/O_TRUNC."""
        cache = cache if cache is not None else handles
        with cache._lock:
            cache._evict()
        fd = os.open(path, flags, mode)
        return cls(path, flags, fd, cache)

    def __repr__(self) -> str:
        return f"FileHandle({self.path.name}, fd={self.fd}, pins={self.pins})"

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    def pin(self) -> int:
        return self.cache._pin(self)

    def unpin(self) -> None:
        self.cache._unpin(self)

    @contextmanager
    def use(self) -> Iterator[int]:
        fd = self.pin()
        try:
            yield fd
        finally:
            self.unpin()

    def release(self) -> None:
        """Close the descriptor now if nobody uses it (it is reopened on the next use)."""
        with self.cache._lock:
            if self.pins == 0:
                self._close_fd()

    def close(self) -> None:
        self.cache._close(self)

    def _close_fd(self) -> None:  # under the cache lock
        fd, self.fd = self.fd, -1
        self.cache._open.pop(self, None)
        if fd >= 0:
            os.close(fd)
