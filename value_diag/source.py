"""Bytes from a file or stdin, in large blocks. The only module that reads files."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Final

BLOCK: Final = 1 << 20
"""Read size (bytes): large enough that per-call overhead vanishes, small enough for caches."""

STDIN: Final = "-"


class ReadError(Exception):
    """The input cannot be read; the message names it and says why."""


def display_name(path: str) -> str:
    """How a source is named in frames and messages."""
    return "<stdin>" if path == STDIN else path


def describe(path: str, exc: OSError) -> ReadError:
    """A one-line error naming the path and the reason, without a traceback."""
    reason = exc.strerror or type(exc).__name__
    return ReadError(f"cannot read {display_name(path)}: {reason}")


def read_blocks(path: str, block: int = BLOCK) -> Iterator[bytes]:
    """Every byte of a file (or stdin for ``-``) in blocks, from the start to EOF.

    Raises:
        ReadError: the file is missing, a directory, unreadable, or fails mid-read.
    """
    try:
        if path == STDIN:
            fd = sys.stdin.fileno()
            while chunk := os.read(fd, block):
                yield chunk
            return
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(block):
                yield chunk
    except OSError as exc:
        raise describe(path, exc) from None
