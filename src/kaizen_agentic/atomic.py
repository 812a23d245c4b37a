"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kaizen_agentic.errors import KaizenError


def write_atomic(path: str | Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file and its folder are fsynced, so after a crash the path holds either the old bytes or
    the new ones.
    """
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise KaizenError(f"cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise KaizenError(f"cannot write {path}: no such folder {folder}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(folder)


def append_line(fd: int, line: bytes) -> None:
    """Append one whole line to a file opened with ``O_APPEND`` (the caller holds its lock),
    and fsync it. A writer killed mid-line left a partial last line: ours starts a fresh one."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")
    os.write(fd, line if line.endswith(b"\n") else line + b"\n")
    os.fsync(fd)


def fsync_dir(folder: str | Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def locked_dir(folder: str | Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``folder`` itself: no lock files left behind.

    Writers of files in one folder (memory, metrics) serialise on it across processes.
    """
    import fcntl

    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(dir_fd)  # closing releases the lock
