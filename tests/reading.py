"""Short ways into the ingest path that only the tests want: a file folded as one run, a
finite stream's candidate lines, a scanner's unfinished line, and the plain candidate test
the fast scanner is checked against."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator

import pytest

from value_diag.ingest.lines import MAX_LINE, Line, LineScanner
from value_diag.ingest.parallel import read_path
from value_diag.ingest.parse import FINDER
from value_diag.state import FoldState

NO_PYTHON = os.path.join(os.devnull, "python")
"""An interpreter that cannot exist (a path under a file): a reading process never starts."""


def fold_path(
    path: str,
    now: float,
    parts: int | None = None,
    history: int = 0,
    recent: int = 0,
    *,
    processes: bool = True,
) -> FoldState:
    """Folds a file (or stdin for ``-``) as one run; see read_path.

    ``processes=False`` reads every part in this process, one after another, as read_path
    does when no reading process can start (here: no interpreter to start): for the tests
    of how a file is cut and its parts put together, which need no process and would
    otherwise start one for each part after the first. test_parallel checks the reading
    processes themselves, forked and spawned. (A test process with no other thread
    forks its readers all the same.)

    Raises:
        ReadError: the input cannot be read, or is not a regular file.
    """
    if processes:
        return read_path(path, now, parts, history, recent).whole
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "executable", NO_PYTHON)
        return read_path(path, now, parts, history, recent).whole


def iter_lines(chunks: Iterable[bytes], max_line: int = MAX_LINE) -> Iterator[Line]:
    """All candidate lines of a finite stream, the last one even without a newline."""
    return LineScanner(max_line).read(chunks)


def pending_bytes(scanner: LineScanner) -> int:
    """Length of the scanner's unfinished last line (bytes), dropped bytes included."""
    return scanner._pending_len


def is_candidate(line: bytes) -> bool:
    """True if the line contains one of the known names as a quoted string."""
    return FINDER.search(line) >= 0
