"""Files written atomically (a reader sees the old file or the new one, never half of one),
appended one whole line at a time, and read with a size cap."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kaizen_agentic.errors import KaizenError

if TYPE_CHECKING:
    from pathlib import Path

MAX_READ = 1024 * 1024  # the default cap of read_capped: a manifest, a roster entry, a result


def write_atomic(path: str | Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    The file and its folder are fsynced, so after a crash the path holds either the old bytes or
    the new ones.
    """
    from pathlib import Path  # lazily: readers (validate) import this module too

    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise KaizenError(f"cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise KaizenError(f"cannot write {path}: no such folder {folder}")
    import tempfile  # only writers pay for it: readers of capped files import this module

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


def append_line(fd: int, line: bytes, sync: bool = True) -> None:
    """Append one whole line to a file opened read-write with ``O_APPEND`` (the caller holds
    its lock), and fsync it unless ``sync`` is false. A writer killed mid-line left a partial
    last line: ours starts a fresh one."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")
    os.write(fd, line if line.endswith(b"\n") else line + b"\n")
    if sync:
        os.fsync(fd)


def file_contains(fd: int, needle: bytes) -> bool:
    """Whether the open file holds ``needle``: a byte scan in blocks, nothing parsed."""
    position, previous = 0, b""
    while True:
        block = os.pread(fd, 1 << 20, position)
        if not block:
            return False
        if needle in previous[-len(needle) :] + block:
            return True
        previous = block
        position += len(block)


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


def read_capped(path: str, limit: int = MAX_READ) -> bytes:
    """Read a regular file, refusing FIFOs, devices and anything larger than ``limit`` bytes.

    Raises ``OSError`` for files that cannot be opened and ``ValueError`` (with a message fit for
    users) for files that are not regular or are too large.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        return read_fd_capped(fd, limit)
    finally:
        os.close(fd)


def read_fd_capped(fd: int, limit: int) -> bytes:
    """``read_capped`` on a descriptor the caller opened (and closes): regular files only, at
    most ``limit`` bytes, however much the file claims or grows while it is read."""
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise ValueError("is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file")
    if info.st_size > limit:
        raise ValueError(f"file is {human_size(info.st_size)}; the limit is {human_size(limit)}")
    chunks = []
    remaining = limit + 1
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    data = b"".join(chunks)
    if len(data) > limit:  # grew while we read it
        raise ValueError(f"file is larger than the limit of {human_size(limit)}")
    return data


def human_size(n: int) -> str:
    """``n`` bytes as people read them: bytes, KiB, MiB or GiB."""
    if n >= 1024 * 1024 * 1024:
        return f"{n / (1024 * 1024 * 1024):.1f} GiB"
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"
