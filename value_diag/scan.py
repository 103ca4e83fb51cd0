"""Whole files folded fast: a large file is cut at line starts and its parts read at once.

Each part is scanned and summarised (fold.Segment) in its own process; the summaries,
applied in file order, give exactly the state of folding every line in one pass.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from value_diag.fold import FoldState, Segment, apply, summarize
from value_diag.lines import LineScanner
from value_diag.source import STDIN, ReadError, describe, next_line_start, read_blocks, read_range

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from value_diag.lines import Line

PART_MIN: Final = 32 << 20
"""Smallest part worth a process of its own (bytes)."""
MAX_PARTS: Final = 8
BOUNDARY_LOOKAHEAD: Final = 16 << 20
"""How far past a planned cut to look for a line start before giving that cut up (bytes)."""


@dataclass(frozen=True, slots=True)
class Progress:
    """The state after the complete lines of a file prefix."""

    state: FoldState
    lines: int
    """Complete lines in the prefix."""
    offset: int
    """Bytes of the prefix: just after its last newline."""


def fold_path(path: str, now: float, parts: int | None = None, history: int = 0) -> FoldState:
    """Folds a whole file (or stdin for ``-``), its last line even without a newline.

    ``parts`` overrides how many processes share a regular file (default: by size
    and the cores available); ``history`` is how many value records to keep for trends.

    Raises:
        ReadError: the input cannot be read.
    """
    if path == STDIN:
        return _fold_stream(read_blocks(path), now, history)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise describe(path, exc) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(21, os.strerror(21))
        if not stat.S_ISREG(st.st_mode):
            return _fold_stream(read_blocks(path), now, history)
        done = catch_up(fd, st.st_size, now, parts, history)
        scanner = LineScanner()
        scanner.lines = done.lines
        tail = _lines(scanner, read_range(fd, done.offset, None), finish=True)
        return apply(done.state, summarize(tail, history_len=history), now)
    except OSError as exc:
        raise describe(path, exc) from None
    finally:
        os.close(fd)


def catch_up(
    fd: int, size: int, now: float, parts: int | None = None, history: int = 0
) -> Progress:
    """Folds the complete lines of the first ``size`` bytes of an open file, on all cores."""
    end = _last_line_end(fd, size)
    cuts = _cuts(fd, end, _parts(end) if parts is None else parts)
    jobs = [_job(fd, a, b, history) for a, b in zip([0, *cuts], [*cuts, end], strict=True)]
    children = [_fork(job) for job in jobs[1:]]
    try:
        first = jobs[0]()
    finally:  # every child is waited for, whatever happens here
        answers = [_collect(pid, r) for pid, r in children]
    for answer in answers:
        if isinstance(answer, str):
            raise ReadError(answer)
    segments = [first, *(a for a in answers if isinstance(a, Segment))]
    state, lines = FoldState(history_len=history), 0
    for seg in segments:
        state = apply(state, seg, now, lines)
        lines += seg.lines
    return Progress(state, lines, end)


def _fold_stream(blocks: Iterator[bytes], now: float, history: int) -> FoldState:
    lines = _lines(LineScanner(), blocks, finish=True)
    return apply(FoldState(history_len=history), summarize(lines, history_len=history), now)


def _lines(scanner: LineScanner, blocks: Iterator[bytes], finish: bool) -> Iterator[Line]:
    for block in blocks:
        yield from scanner.feed(block)
    if finish:
        yield from scanner.finish()


def _job(fd: int, start: int, end: int, history: int) -> Callable[[], Segment]:
    def run() -> Segment:
        scanner = LineScanner()
        lines = _lines(scanner, read_range(fd, start, end), finish=False)
        seg = summarize(lines, history_len=history)
        return replace(seg, lines=scanner.lines)

    return run


def _parts(size: int) -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    if not hasattr(os, "fork"):
        return 1
    return max(1, min(MAX_PARTS, cpus, size // PART_MIN))


def _last_line_end(fd: int, size: int) -> int:
    """The offset just after the last newline before ``size`` (0 if there is none)."""
    pos = size
    while pos > 0:
        start = max(0, pos - (1 << 20))
        chunk = os.pread(fd, pos - start, start)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0


def _cuts(fd: int, end: int, parts: int) -> list[int]:
    """Line starts near end * k / parts; a cut with no line start close by is given up."""
    cuts: list[int] = []
    for k in range(1, parts):
        at = next_line_start(fd, end * k // parts, BOUNDARY_LOOKAHEAD)
        if at is not None and at < end and (not cuts or at > cuts[-1]):
            cuts.append(at)
    return cuts


def _fork(job: Callable[[], Segment]) -> tuple[int, int]:
    """Runs a job in a child process; its pickled result comes back through a pipe."""
    import pickle

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(r)
        try:
            payload = pickle.dumps(("ok", job()))
        except OSError as exc:
            payload = pickle.dumps(("error", exc.strerror or type(exc).__name__))
        except BaseException:
            payload = pickle.dumps(("error", "interrupted"))
        with os.fdopen(w, "wb") as f:
            f.write(payload)
        os._exit(0)
    os.close(w)
    return pid, r


def _collect(pid: int, r: int) -> Segment | str:
    """A child's segment, or why it has none."""
    import pickle

    with os.fdopen(r, "rb") as f:
        payload = f.read()
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    try:
        kind, value = pickle.loads(payload)
    except (EOFError, pickle.UnpicklingError):
        return "a reading process ended without an answer"
    if kind != "ok" or not isinstance(value, Segment):
        return f"read failed: {value}"
    return value
