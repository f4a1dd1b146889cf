"""Small files replaced atomically: write ``<name>.tmp``, fsync it, rename it over ``<name>``, fsync the
directory. A crash leaves either the old or the new file, never a torn one; a stray ``.tmp`` is removed
when the partition directory is next opened (``storage.recovery``)."""

from __future__ import annotations

import os
from pathlib import Path

from .recovery import fsync_dir

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: bytes, sync_dir: bool = True, tmp: Path | None = None) -> None:
    """``tmp`` overrides the temporary file's name (it must be in the same directory)."""
    if tmp is None:
        tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(path.parent)
