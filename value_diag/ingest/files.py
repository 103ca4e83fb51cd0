"""Bytes from a file or stdin: whole, or followed as it grows.

Only regular files are read by path: a FIFO, a device or a socket could block an open()
or never end (``-`` is the way to read a pipe). Every open is non-blocking for that reason.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterator
from typing import Final

from value_diag.errors import ReadError
from value_diag.ingest.urls import public

BLOCK: Final = 1 << 20
"""Read size (bytes): large enough that per-call overhead vanishes, small enough for caches."""

STDIN: Final = "-"

RUN_PATTERN: Final = "*.jsonl"
"""The run files a directory stands for by default: esper-lite's ``events.jsonl``, a
TelemetryWriter's file, any JSON-lines log (local directories and remote ones alike)."""


def display_name(path: str) -> str:
    """How a source is named in frames and messages (a URL without its credentials)."""
    return "<stdin>" if path == STDIN else public(path)


NOT_REGULAR: Final = "not a regular file"
"""Why a FIFO, device or socket given by path is refused."""
TOO_MANY_FILES: Final = "too many open files (the open-file limit, ulimit -n, is reached)"
"""EMFILE said plainly: the limit, not the file, is the problem."""


class NotRegularFile(OSError):
    """A path that names a FIFO, a device or a socket."""

    def __init__(self) -> None:
        super().__init__(errno.EINVAL, NOT_REGULAR)


def reason(exc: OSError) -> str:
    """Why an operation failed, in words (the limit named for EMFILE)."""
    if exc.errno == errno.EMFILE:
        return TOO_MANY_FILES
    return exc.strerror or type(exc).__name__


def describe(path: str, exc: OSError) -> ReadError:
    """A one-line error naming the path and the reason, without a traceback."""
    return ReadError(f"cannot read {display_name(path)}: {reason(exc)}")


def open_regular(path: str) -> tuple[int, os.stat_result]:
    """Opens a regular file for reading without ever blocking; its descriptor and status.

    Raises:
        OSError: the path is missing, a directory, not a regular file, or unreadable.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_stdin(block: int = BLOCK) -> Iterator[bytes]:
    """Every byte of stdin in blocks, to EOF.

    Raises:
        ReadError: the stream fails mid-read.
    """
    try:
        fd = sys.stdin.fileno()
        while chunk := os.read(fd, block):
            yield chunk
    except OSError as exc:
        raise describe(STDIN, exc) from None


def read_range(fd: int, start: int, end: int | None, block: int = BLOCK) -> Iterator[bytes]:
    """Bytes [start, end) of an open file (to EOF when end is None), in blocks."""
    pos = start
    while end is None or pos < end:
        size = block if end is None else min(block, end - pos)
        chunk = os.pread(fd, size, pos)
        if not chunk:
            return
        pos += len(chunk)
        yield chunk


def next_line_start(fd: int, pos: int, limit: int) -> int | None:
    """The offset just after the first newline at or after ``pos``, looking ``limit`` bytes."""
    offset = pos
    for chunk in read_range(fd, pos, pos + limit, block=64 * 1024):
        i = chunk.find(b"\n")
        if i >= 0:
            return offset + i + 1
        offset += len(chunk)
    return None
