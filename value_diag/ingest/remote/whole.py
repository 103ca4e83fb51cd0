"""Whole remote files folded: a big object read in ranged parts at once, each split at lines.

Every read is checked (answers.py): a server that does not answer a range with it (one
that ignores ``Range``, or answers a part of it) has the file read as one stream instead,
up to the size its metadata gave, so that the parts never fold bytes from the wrong offset.
An ftp file is always read so: there one stream is one transfer, and each part would be one.

Where ingest/parallel.py cuts a local file at line starts first and then reads the parts,
a remote part finds its own line boundaries in the bytes it reads anyway: part k holds
the lines that start in [size * k / n, size * (k + 1) / n), so it skips the bytes before
its first line start and reads on past its end to the end of its last line. No request
is spent on finding cuts, and the parts' summaries (fold.Segment), applied in order,
give the state of folding every line in one pass, as for local files.

A trainer's own log (ingest/foreign: SB3's progress.csv, a TensorBoard event file, Tune's
result.json, told by name; verl's ``.jsonl``, told by its first line) is read whole, by the
same checked ranged reads (or one stream), up to the size its metadata gave, and converted
by its reader. A ``.jsonl`` is told from the first block its first part reads anyway: a
file of value-diag's lines costs no read more.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from itertools import chain, pairwise
from typing import Final

from value_diag.errors import ReadError
from value_diag.ingest.fold import FileState, Segment, apply_file, summarize
from value_diag.ingest.foreign.detect import Format
from value_diag.ingest.foreign.reading import HEAD, Converted, format_from, needs_head
from value_diag.ingest.lines import LineScanner
from value_diag.ingest.remote.answers import Unranged
from value_diag.ingest.remote.backends import Remote, Stat, connect
from value_diag.ingest.remote.reasons import RemoteFailure
from value_diag.ingest.urls import public

RANGE_BLOCK: Final = 4 << 20
"""Bytes per ranged read of a whole file: each part streams in reads of this size, so
memory stays at a block per part whatever the size of the file."""
TAIL_BLOCK: Final = 64 << 10
"""Read size past a part's end, while looking for the newline that ends its last line:
the bytes after it are the next part's, and small reads do not fetch them twice."""
ATTEMPTS: Final = 3
"""Tries of each ranged read of a whole file: one slow answer in the many of a big
file must not fail the read (a followed file just looks again at its next poll)."""
RETRY_S: Final = 0.5
"""Wait before the second try (doubled before each next one)."""
PARTS_AT_ONCE: Final = 8
"""Most parts of one file read at once (threads: the work waits on the network)."""
PART_MIN: Final = 4 * RANGE_BLOCK
"""Smallest part worth a reader of its own (bytes)."""


class _Stopped(Exception):
    """Another part failed: this one ends at its next block."""


class _Foreign(Exception):
    """The file's first line says it is a trainer's own log: it is read by its reader."""

    def __init__(self, fmt: Format) -> None:
        super().__init__(fmt)
        self.format = fmt


def info(url: str) -> Stat:
    """Size, modification time and version of a remote file: one metadata call.

    Raises:
        ReadError: the file is not there, or cannot be reached (the message names
            ``public(url)`` and says why).
    """
    try:
        return connect(url).stat()
    except FileNotFoundError:
        raise ReadError(f"cannot read {public(url)}: not found") from None
    except RemoteFailure as exc:
        raise ReadError(f"cannot read {public(url)}: {exc.reason}") from None


def read_remote(
    url: str,
    now: float | None = None,
    history: int = 0,
    parts: int | None = None,
    recent: int = 0,
    clock: Callable[[], float] = time.time,
) -> FileState:
    """Folds a remote file into its runs, up to the size it had at the first look.

    What ingest.parallel.read_path is for a local file, with the same result: the last
    line counts even without a newline; ``history`` is how many value records to keep
    for trends, ``recent`` how many to keep as Updates; ``parts`` overrides how many
    parts the file is read in (default: by size, read at once; one over sftp, whose
    single connection takes requests in turn).
    Records are dated ``now``; without it, by the file's modification time (``dated``,
    against ``clock``).
    A trainer's own log is read whole and converted by its reader (see the module's
    docstring), as ingest/foreign/reading.read_local reads a local one.

    Raises:
        ReadError: the file is not there, is a directory, or a read failed, or its reader
            needs an extra that is not installed.
    """
    st = info(url)
    if st.directory:
        raise ReadError(f"cannot read {public(url)}: a directory (give the run files)")
    try:
        remote = connect(url)
    except RemoteFailure as exc:
        raise ReadError(f"cannot read {public(url)}: {exc.reason}") from None
    size = st.size
    n = max(1, parts if parts is not None else _parts(size, remote))
    ranges = list(pairwise([size * k // n for k in range(n + 1)]))
    written = now if now is not None else dated(st.mtime, clock())
    fmt = format_from(url, b"")
    try:
        if fmt is None:
            tell = url if needs_head(url) else None
            try:
                segments = _fold_whole(remote, ranges, size, history, recent, tell)
            except _Foreign as told:
                fmt = told.format
        if fmt is not None:
            data = b"".join(_whole(remote, size))
    except FileNotFoundError:
        raise ReadError(f"cannot read {public(url)}: deleted while being read") from None
    except RemoteFailure as exc:
        raise ReadError(f"cannot read {public(url)}: {exc.reason}") from None
    if fmt is not None:
        try:
            return Converted(fmt, history, recent).update(data, written)
        except ReadError as exc:  # its reader needs an extra
            raise ReadError(f"cannot read {public(url)}: {exc}") from None
    state, lines = FileState.empty(history, recent), 0
    for seg in segments:
        state = apply_file(state, seg, written, lines)
        lines += seg.lines
    return state


def dated(mtime: float | None, now: float) -> float:
    """When the records of a file were written: its modification time, or ``now`` when
    it has none. A time ahead of ``now`` (a clock ahead of ours, on a store or a share) is
    kept: the frame says its age cannot be known (health.AGE_UNKNOWN)."""
    return now if mtime is None else mtime


def _parts(size: int, remote: Remote) -> int:
    if not _concurrent(remote):
        return 1
    return max(1, min(PARTS_AT_ONCE, size // PART_MIN))


def _concurrent(remote: Remote) -> bool:
    """Whether parts may be read at once: an asyncio backend takes calls from any thread;
    an sftp connection's requests must take turns (paramiko's client is not shared)."""
    return bool(getattr(remote.fs, "async_impl", False))


def _fold_whole(
    remote: Remote,
    ranges: list[tuple[int, int]],
    size: int,
    history: int,
    recent: int,
    tell: str | None = None,
) -> list[Segment]:
    """The summaries of the file's parts, in order: ranged parts, or one stream cut at the
    size seen where the server sends whole files only, or where one stream is the better
    read (``Remote.sequential``).

    Raises:
        _Foreign: ``tell`` (the URL of a ``.jsonl``) was given and the file's first line
            says it is a trainer's own log (see ``_telling``).
    """
    if not remote.sequential:
        try:
            return _fold_parts(remote, ranges, size, history, recent, tell)
        except Unranged:  # the server sends whole files
            pass
    return [_fold_stream(remote, size, history, recent, tell)]


def _fold_parts(
    remote: Remote,
    ranges: list[tuple[int, int]],
    size: int,
    history: int,
    recent: int,
    tell: str | None,
) -> list[Segment]:
    """The summaries of the parts, in order: read at once where the backend allows."""
    stop = threading.Event()
    if len(ranges) == 1 or not _concurrent(remote):
        return [_fold_part(remote, a, b, size, history, recent, stop, tell) for a, b in ranges]
    with ThreadPoolExecutor(len(ranges), thread_name_prefix="value-diag-read") as pool:
        futures = [
            pool.submit(_fold_part, remote, a, b, size, history, recent, stop, tell)
            for a, b in ranges
        ]
        try:
            return [f.result() for f in futures]
        except BaseException:
            stop.set()  # the other parts end at their next block
            raise


def _fold_part(
    remote: Remote,
    start: int,
    end: int,
    size: int,
    history: int,
    recent: int,
    stop: threading.Event,
    tell: str | None = None,
) -> Segment:
    """The summary of the lines that start in [start, end), numbered from the part's first;
    the first part's first block tells a ``.jsonl``'s format when ``tell`` is given."""
    scanner = LineScanner()
    blocks = _part_bytes(remote, start, end, size, stop)
    if start == 0 and tell is not None:
        blocks = _telling(tell, blocks)
    lines = scanner.read(blocks)
    seg = summarize(lines, history_len=history, recent_len=recent)
    return replace(seg, lines=scanner.lines)


def _fold_stream(
    remote: Remote, size: int, history: int, recent: int, tell: str | None = None
) -> Segment:
    """The summary of the whole file read as one stream, up to ``size`` bytes; its first
    block tells a ``.jsonl``'s format when ``tell`` is given."""
    scanner = LineScanner()
    blocks = remote.stream(0, size, RANGE_BLOCK)
    lines = scanner.read(blocks if tell is None else _telling(tell, blocks))
    seg = summarize(lines, history_len=history, recent_len=recent)
    return replace(seg, lines=scanner.lines)


def _telling(url: str, blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The file's first blocks, unless the first one's first line says that the file is a
    trainer's own log (verl's file logger): then _Foreign is raised before any line is
    folded. A first line longer than the first block is not verl's (a few KB)."""
    first = next(blocks, b"")
    fmt = format_from(url, first[:HEAD])
    if fmt is not None:
        raise _Foreign(fmt)
    if first:
        yield first
    yield from blocks


def _whole(remote: Remote, size: int) -> Iterator[bytes]:
    """The file's bytes [0, size), for a reader that takes them whole: ranged reads of
    RANGE_BLOCK, each tried ATTEMPTS times, or one stream cut at ``size`` where the server
    sends whole files only or one stream is the better read."""
    if not remote.sequential:
        try:
            return iter([b for _, b in _blocks(remote, 0, size, threading.Event(), size)])
        except Unranged:  # the server sends whole files
            pass
    return remote.stream(0, size, RANGE_BLOCK)


def _part_bytes(
    remote: Remote, start: int, end: int, size: int, stop: threading.Event
) -> Iterator[bytes]:
    """The bytes of the lines that start in [start, end): from the first line start at or
    after ``start`` through the newline at or after ``end - 1`` (or the end of the file)."""
    blocks = _blocks(remote, max(0, start - 1), size, stop, end)
    if start > 0:  # the first line start is just after a newline at start - 1 or later
        for pos, block in blocks:
            i = block.find(b"\n", 0, max(0, end - 1 - pos))
            if i >= 0:
                blocks = chain([(pos + i + 1, block[i + 1 :])], blocks)
                break
            if pos + len(block) >= end - 1:
                return  # no line starts in the part: one line runs across it
        else:
            return
    for pos, block in blocks:
        i = block.find(b"\n", max(0, end - 1 - pos)) if end - 1 - pos < len(block) else -1
        if i >= 0:
            yield block[: i + 1]
            return
        yield block


def _blocks(
    remote: Remote, pos: int, size: int, stop: threading.Event, end: int
) -> Iterator[tuple[int, bytes]]:
    """Bytes [pos, size) in ranged reads: (offset, block) pairs, ending early on ``stop``;
    RANGE_BLOCK at most up to ``end``; past it TAIL_BLOCK, doubled for each next read up
    to RANGE_BLOCK (a long last line costs few requests)."""
    tail = TAIL_BLOCK
    while pos < size:
        if stop.is_set():
            raise _Stopped
        if pos < end:
            upto = min(pos + RANGE_BLOCK, end)
        else:
            upto, tail = pos + tail, min(tail * 2, RANGE_BLOCK)
        block = _cat(remote, pos, min(size, upto), stop)
        if not block:
            return
        yield pos, block
        pos += len(block)


def _cat(remote: Remote, start: int, end: int, stop: threading.Event) -> bytes:
    """Bytes [start, end), tried ATTEMPTS times. Raises the last RemoteFailure."""
    wait = RETRY_S
    for attempt in range(ATTEMPTS):
        try:
            return remote.cat(start, end)
        except RemoteFailure:
            if attempt == ATTEMPTS - 1 or stop.wait(wait):
                raise
            wait *= 2
    raise AssertionError("unreachable")
