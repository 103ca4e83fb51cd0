"""Whole files folded fast: a large file is cut at line starts and its parts read at once.

Each part is scanned and summarised (fold.Segment) in its own process; the summaries,
applied in file order, give exactly the state of folding every line in one pass.

A reading process is forked while this process has no other thread (``once``): it
starts at once and shares what is already imported. With other threads at work (watch's
file watcher, the remote pollers), a fork could copy a lock another thread holds and hang
the child (Python 3.12 and later warn about it), so a fresh interpreter is started
instead (posix_spawn), which reads its part from the same open file.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Final, NoReturn

from value_diag.errors import ReadError
from value_diag.ingest.files import (
    STDIN,
    describe,
    next_line_start,
    open_regular,
    read_range,
    read_stdin,
)
from value_diag.ingest.fold import FileState, Segment, apply_file, summarize
from value_diag.ingest.lines import LineScanner
from value_diag.state import FoldState

PART_MIN: Final = 32 << 20
"""Smallest part worth a process of its own (bytes)."""
MAX_PARTS: Final = 8
BOUNDARY_LOOKAHEAD: Final = 16 << 20
"""How far past a planned cut to look for a line start before giving that cut up (bytes)."""


@dataclass(frozen=True, slots=True)
class Progress:
    """The runs of a file after the complete lines of a prefix."""

    file: FileState
    lines: int
    """Complete lines in the prefix."""
    offset: int
    """Bytes of the prefix: just after its last newline."""

    @property
    def state(self) -> FoldState:
        """The prefix folded as one run."""
        return self.file.whole


class Interrupted(Exception):
    """Reading was stopped from outside (a signal asked watch to end)."""


Stop = Callable[[], bool]
"""Asked between blocks: True to stop reading at once."""


def _never() -> bool:
    return False


def read_path(
    path: str,
    now: float | None = None,
    parts: int | None = None,
    history: int = 0,
    recent: int = 0,
    clock: Callable[[], float] = time.time,
) -> FileState:
    """Folds a file (or stdin for ``-``) into its runs, up to the size it had when opened.

    The last line counts even without a newline. A file that keeps growing is not
    chased: what was written after the open is for the next look. ``parts`` overrides
    how many processes share the file (default: by size and the cores available);
    ``history`` is how many value records to keep for trends, ``recent`` how many to
    keep as Updates (FoldState.recent).

    Records are dated ``now``; without it, a file's by its modification time, the moment
    of its last write (so a file nobody writes to any more looks as old as it is), and
    stdin's by the time ``clock`` says when it ends.

    Raises:
        ReadError: the input cannot be read, or is not a regular file.
    """
    if path == STDIN:
        seg = summarize(LineScanner().read(read_stdin()), history_len=history, recent_len=recent)
        empty = FileState.empty(history, recent)
        return apply_file(empty, seg, clock() if now is None else now)
    try:
        fd, st = open_regular(path)
    except OSError as exc:
        raise describe(path, exc) from None
    written = st.st_mtime if now is None else now  # ahead of the clock: the frame's to judge
    try:
        done = catch_up(fd, st.st_size, written, parts, history, name=path, recent=recent)
        scanner = LineScanner()
        scanner.lines = done.lines
        tail = scanner.read(read_range(fd, done.offset, st.st_size))
        seg = summarize(tail, history_len=history, recent_len=recent)
        return apply_file(done.file, seg, written)
    except OSError as exc:
        raise describe(path, exc) from None
    finally:
        os.close(fd)


def catch_up(
    fd: int,
    size: int,
    now: float,
    parts: int | None = None,
    history: int = 0,
    *,
    name: str = "",
    stop: Stop = _never,
    recent: int = 0,
) -> Progress:
    """Folds the complete lines of the first ``size`` bytes of an open file, on all cores.

    ``history`` and ``recent`` are how many value records the state keeps (see read_path).

    Raises:
        ReadError: a part could not be read (the message names ``name``).
        Interrupted: ``stop`` said so; the reading processes are gone.
    """
    end = _last_line_end(fd, size)
    alone = _alone()
    if not alone and not _can_spawn():
        parts = 1
    cuts = _cuts(fd, end, _parts(end) if parts is None else parts)
    bounds = list(zip([0, *cuts], [*cuts, end], strict=True))
    jobs = [_job(fd, a, b, history, recent) for a, b in bounds]
    parts_ahead: list[tuple[int, int] | Job] = []
    """Each part after the first: its reading process (pid, pipe), or the job itself when
    no process could be started for it (it is then read here)."""
    try:
        for job, (a, b) in zip(jobs[1:], bounds[1:], strict=True):
            parts_ahead.append(
                _fork(job) if alone else _spawn_or_keep(job, fd, a, b, history, recent)
            )
        first = jobs[0](stop)
        answers = [p(stop) if callable(p) else _collect(*p, stop) for p in parts_ahead]
    finally:  # whatever happened, no reading process outlives this call
        for p in parts_ahead:
            if not callable(p):
                _reap(*p)
    for answer in answers:
        if isinstance(answer, str):
            raise ReadError(f"cannot read {name}: {answer}")
    segments = [first, *(a for a in answers if isinstance(a, Segment))]
    state, lines = FileState.empty(history, recent), 0
    for seg in segments:
        state = apply_file(state, seg, now, lines)
        lines += seg.lines
    return Progress(state, lines, end)


Job = Callable[[Stop], Segment]
"""Folds one part of a file, asking ``stop`` between blocks."""


def _job(fd: int, start: int, end: int, history: int, recent: int) -> Job:
    def run(stop: Stop) -> Segment:
        scanner = LineScanner()
        lines = scanner.read(_stoppable(read_range(fd, start, end), stop), finish=False)
        seg = summarize(lines, history_len=history, recent_len=recent)
        return replace(seg, lines=scanner.lines)

    return run


def _stoppable(blocks: Iterator[bytes], stop: Stop) -> Iterator[bytes]:
    for block in blocks:
        if stop():
            raise Interrupted
        yield block


def _alone() -> bool:
    """Whether this process runs one thread only, so that forking it is safe: counted by
    the kernel where it can tell (threads that Python did not start count too)."""
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:  # no /proc
        import threading

        return threading.active_count() == 1


def _can_spawn() -> bool:
    """Whether a fresh interpreter can be started to read a part (see ``_spawn``)."""
    return hasattr(os, "posix_spawn") and bool(sys.executable)


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


_CHILD_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals the parent answers for its readers: blocked across fork, then default or ignored."""
_PR_SET_PDEATHSIG: Final = 1
_WAIT_S: Final = 0.05
"""How often the parent, waiting for a reader, asks whether to stop (s)."""


def _fork(job: Job) -> tuple[int, int]:
    """Runs a job in a child process; its pickled result comes back through a pipe.

    The child never returns into the caller's code: its whole life ends in os._exit,
    and it dies with its parent (PR_SET_PDEATHSIG on Linux, else by asking between
    blocks whether its parent is still the one that started it).
    """
    r, w = os.pipe()
    parent = os.getpid()
    # No signal may land between fork and the child's try: it would unwind into our code.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _CHILD_SIGNALS)
    try:
        pid = os.fork()
    except BaseException:
        os.close(r)
        os.close(w)
        raise
    finally:
        if os.getpid() == parent:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        _child(job, parent, r, w, old_mask)
    os.close(w)
    return pid, r


_SPAWNED_FILE: Final = 3
_SPAWNED_ANSWER: Final = 1
"""Where a spawned reading process finds the file to read and the pipe for its answer."""


def _spawn(fd: int, start: int, end: int, history: int, recent: int) -> tuple[int, int]:
    """Runs a job in a fresh interpreter (safe beside other threads, unlike a fork); its
    pickled result comes back through a pipe, as from ``_fork``.

    The child gets the open file as descriptor 3 and the pipe as its stdout (its stderr
    goes nowhere: the parent's may be a terminal being drawn on, and a child that fails
    says so by giving no answer), runs in a process group of its own (a Ctrl-C on the
    terminal is the parent's to answer), and dies with its parent, as a forked one does.
    """
    import fcntl

    r, pipe = os.pipe()
    # Above the numbers the child's descriptors are set up at, so that none is overwritten
    # before it is moved (close-on-exec: the child keeps only its 0 to 3).
    w = fcntl.fcntl(pipe, fcntl.F_DUPFD_CLOEXEC, _SPAWNED_FILE + 1)
    os.close(pipe)
    source = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _SPAWNED_FILE + 1)
    home = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        f"import sys; sys.path.insert(0, {home!r}); "
        "from value_diag.ingest.parallel import _spawned; _spawned()"
    )
    args = [str(n) for n in (os.getpid(), start, end, history, recent)]
    try:
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-c", code, *args],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, w, _SPAWNED_ANSWER),
                (os.POSIX_SPAWN_DUP2, source, _SPAWNED_FILE),
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
            setpgroup=0,
            setsigdef=_CHILD_SIGNALS,
        )
    except BaseException:
        os.close(r)
        raise
    finally:
        os.close(w)
        os.close(source)
    return pid, r


def _spawn_or_keep(
    job: Job, fd: int, start: int, end: int, history: int, recent: int
) -> tuple[int, int] | Job:
    """A spawned reading process for the part, or the job itself if none could start (no
    interpreter at ``sys.executable``, no process left): this process reads the part."""
    try:
        return _spawn(fd, start, end, history, recent)
    except OSError:
        return job


def _spawned() -> NoReturn:
    """The main of a spawned reading process (see ``_spawn``)."""
    parent, start, end, history, recent = (int(a) for a in sys.argv[1:6])
    job = _job(_SPAWNED_FILE, start, end, history, recent)
    _child(job, parent, None, _SPAWNED_ANSWER, signal.pthread_sigmask(signal.SIG_BLOCK, []))


def _child(job: Job, parent: int, r: int | None, w: int, mask: Iterable[int]) -> NoReturn:
    """The whole life of a reading process: fold, answer, exit; nothing else ever runs."""
    code = 1
    try:
        if r is not None:
            os.close(r)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to answer
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        import pickle

        try:
            answer: tuple[str, object] = ("ok", job(lambda: os.getppid() != parent))
        except OSError as exc:
            answer = ("error", exc.strerror or type(exc).__name__)
        except MemoryError:
            answer = ("error", "out of memory")
        except Interrupted:
            answer = ("error", "the reading process lost its parent")
        with os.fdopen(w, "wb") as f:
            f.write(pickle.dumps(answer))
        code = 0
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    """Asks the kernel to kill this process when its parent dies (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the job asks between blocks instead
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _collect(pid: int, r: int, stop: Stop) -> Segment | str:
    """A child's segment, or why it has none; raises Interrupted when ``stop`` says so."""
    import pickle

    payload = bytearray()
    with selectors.DefaultSelector() as sel:
        sel.register(r, selectors.EVENT_READ)
        while True:
            if stop():
                raise Interrupted
            if not sel.select(_WAIT_S):
                continue
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            payload += chunk
    try:
        kind, value = pickle.loads(payload)
    except (EOFError, pickle.UnpicklingError):
        return "a reading process ended without an answer"
    if kind != "ok" or not isinstance(value, Segment):
        return f"read failed: {value}"
    return value


def _reap(pid: int, r: int) -> None:
    """Ends a reading process (if it is still at work) and waits for it."""
    with contextlib.suppress(OSError):
        os.close(r)
    with contextlib.suppress(ChildProcessError, ProcessLookupError):
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
