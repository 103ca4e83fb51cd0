"""`value-diag watch`: follow one or more growing files (or stdin) and redraw on every update."""

from __future__ import annotations

import contextlib
import math
import os
import selectors
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final

from value_diag.exitcodes import ExitCode
from value_diag.fold import FoldState, fold
from value_diag.health import Status, reaches
from value_diag.lines import LineScanner
from value_diag.output import Frame, assess
from value_diag.scan import Interrupted, Stop, catch_up
from value_diag.sinks import Sink
from value_diag.source import (
    BLOCK,
    RESTARTS,
    STDIN,
    Change,
    ReadError,
    Tail,
    display_name,
)
from value_diag.source import reason as source_reason

STEP_MS: Final = 8
"""How often the file watcher looks for a quiet moment after a change (ms): the latency."""
DEBOUNCE_MS: Final = 20
"""Longest a frame waits while writes keep arriving (ms)."""
TICK_S: Final = 0.25
"""Longest sleep without looking (s): resizes, the age of the last update, missed events."""
PASS_S: Final = 0.05
"""Longest one pass reads before the frame for what arrived so far is drawn and the stop
flag is asked (s): a writer faster than the fold still gets frames, and signals are obeyed."""
PASS_BLOCK: Final = 256 << 10
"""Bytes read between two looks at the clock: folding them takes a few ms at most."""
FD_RESERVE: Final = 32
"""Open files value-diag needs besides one per followed file (streams, pipes, notifications)."""
AGE_REFRESH_S: Final = 1.0
"""How often a terminal frame is redrawn only to update the age (s)."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How `watch` follows and when it gives up."""

    fail_on: Status | None = None
    poll: float | None = None
    """Seconds between looks when polling; None to use file-system notifications."""
    history: int = 0
    """Value records kept for the trend column (0: no trend)."""
    until: Callable[[list[Frame]], bool] | None = None
    """Files only: the watch ends (exit 0) once this is true of the frames on screen."""


def _never() -> bool:
    return False


class Followed:
    """One followed source: its tail, its line scanner and its folded state."""

    def __init__(self, path: str, history: int = 0, stop: Stop = _never) -> None:
        self.path = path
        self.name = display_name(path)
        self.history = history
        self.stop = stop
        """Asked while a large file is read from the top: True ends the reading."""
        self.tail = Tail(path, PASS_BLOCK)
        self.scanner = LineScanner()
        self.state = FoldState(history_len=history)
        self.note: str | None = None
        self.pending = False
        """The last update stopped at its deadline with bytes left to read."""

    def frame(self) -> Frame:
        """The current frame of this source."""
        return Frame(self.name, self.state, self.note)

    def update(self, now: float, deadline: float = math.inf) -> bool:
        """Takes in what happened to the file, reading until ``deadline`` (time.monotonic).

        Returns True if the frame changed. At least one block is read; whatever is left
        at the deadline sets ``pending`` for the next pass.

        Raises:
            Interrupted: ``stop`` ended the reading of a large file from the top.
        """
        before = (self.state, self.note)
        self.pending = False
        change = self.tail.sync()
        if change is not None:
            self.note = _describe(change, self.path, self.tail.error)
        # A record is as old as the write that brought it, also when it was there at start.
        written = self.tail.mtime if self.tail.mtime is not None else now
        try:
            if change in RESTARTS:
                self._restart(written)
            for block in self.tail.read():
                self.state = fold(self.state, self.scanner.feed(block), written)
                if time.monotonic() >= deadline or self.stop():
                    self.pending = True
                    break
        except (OSError, ReadError) as exc:
            # Let go of the file: the next look opens it again and reads it from the top.
            why = source_reason(exc) if isinstance(exc, OSError) else str(exc)
            self.tail.fail(self.tail.error or why)
            self.note = _describe(Change.ERROR, self.path, self.tail.error)
        return (self.state, self.note) != before

    def _restart(self, written: float) -> None:
        """Reads the file from the top with a fresh state: a large one in parts, at once."""
        self.scanner = LineScanner()
        self.state = FoldState(history_len=self.history)
        if self.tail.fd is None:
            return
        done = catch_up(
            self.tail.fd,
            self.tail.size(),
            written,
            history=self.history,
            name=self.name,
            stop=self.stop,
        )
        self.state = done.state
        self.scanner.lines = done.lines
        self.tail.skip_to(done.offset)


def _describe(change: Change, path: str, error: str | None) -> str | None:
    name = Path(path).name
    return {
        Change.OPENED: None,
        Change.MISSING: f"waiting for {name}",
        Change.DELETED: f"deleted; waiting for {name}",
        Change.TRUNCATED: "truncated; reading from the top",
        Change.REPLACED: "replaced; reading the new file",
        Change.ERROR: f"read error: {error}; retrying",
    }[change]


class Stopper:
    """SIGINT, SIGTERM and SIGHUP end the watch cleanly; a self-pipe wakes any select()."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.resized = threading.Event()
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        os.set_blocking(self._r, False)

    @property
    def wake_fd(self) -> int:
        """Readable when a signal arrived."""
        return self._r

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Installs the handlers for the duration of the block."""
        old = {
            sig: signal.signal(sig, self._handle)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH)
        }
        try:
            yield
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            os.close(self._r)
            os.close(self._w)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGWINCH:
            self.resized.set()
        else:
            self.event.set()
        with contextlib.suppress(OSError):
            os.write(self._w, b"\0")

    def drain(self) -> None:
        """Empties the wake-up pipe."""
        with contextlib.suppress(OSError):
            while os.read(self._r, 512):
                pass


class Waker:
    """Blocks until a followed path may have changed, a signal arrives, or a tick passes.

    File-system notifications come from watchfiles, watching the parent directories
    (not the files: a replaced file would no longer be watched). Where a directory
    does not exist yet, or with --poll, it looks at a fixed interval instead.
    """

    def __init__(self, paths: list[str], stopper: Stopper, poll: float | None) -> None:
        self.stopper = stopper
        self.poll = poll
        # A symlinked log changes where the link points: watch both places. realpath, unlike
        # Path.resolve on Python 3.11, stops at a symlink loop instead of raising.
        absolute = [os.path.abspath(p) for p in paths]
        self._targets = set(absolute) | {os.path.realpath(p) for p in absolute}
        self._dirs = sorted({str(Path(p).parent) for p in self._targets})
        self._watch: Iterator[object] | None = None

    def wait(self) -> None:
        """Returns after the next change, signal or tick."""
        if self.poll is None and self._watch is None:
            self._watch = self._start()
        if self._watch is None:
            self._sleep(self.poll if self.poll is not None else TICK_S)
            return
        try:
            next(self._watch)
        except StopIteration:
            self._watch = None
        except OSError:  # a watched directory went away: look again shortly
            self._watch = None
            self._sleep(TICK_S)

    def _start(self) -> Iterator[object] | None:
        if not all(Path(d).is_dir() for d in self._dirs):
            return None
        import watchfiles

        targets = self._targets
        try:
            watcher: Iterator[object] = watchfiles.watch(
                *self._dirs,
                watch_filter=lambda _change, path: path in targets,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self.stopper.event,
                rust_timeout=int(TICK_S * 1000),
                yield_on_timeout=True,
                raise_interrupt=False,
                recursive=False,
            )
            return watcher
        except OSError:
            return None

    def _sleep(self, seconds: float) -> None:
        sel = selectors.DefaultSelector()
        try:
            sel.register(self.stopper.wake_fd, selectors.EVENT_READ)
            sel.select(seconds)
        finally:
            sel.close()
        self.stopper.drain()


def _verdict(frames: list[Frame], sink: Sink, fail_on: Status | None) -> ExitCode | None:
    for frame in frames:
        if reaches(assess(frame.state, sink.renderer.thresholds).status, fail_on):
            return ExitCode.FAIL
    return None


def run_watch(
    paths: list[str],
    sink: Sink,
    options: WatchOptions,
    clock: Callable[[], float] = time.time,
) -> ExitCode:
    """Follows the sources until a signal, --fail-on, or the end of stdin.

    Raises:
        ReadError: the files cannot all be followed (the open-file limit is too low).
    """
    stopper = Stopper()
    with stopper.installed(), sink:
        if paths == [STDIN]:
            return _watch_stdin(sink, options, stopper, clock)
        make_room(len(paths))
        try:
            return _follow(paths, sink, options, stopper, clock)
        except Interrupted:  # a signal arrived while a large file was read from the top
            return ExitCode.OK


def make_room(files: int) -> None:
    """Raises the soft open-file limit as far as following ``files`` files needs.

    Raises:
        ReadError: the hard limit is too low; the message says so and how many files.
    """
    try:
        import resource
    except ImportError:  # not on a POSIX system
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = files + FD_RESERVE
    unlimited = resource.RLIM_INFINITY
    if soft == unlimited or soft >= need:
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (need if hard == unlimited else min(need, hard), hard)
        )
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        raise ReadError(
            f"cannot follow {files} files: the open-file limit (ulimit -n) is {soft},"
            f" and following them needs about {need}"
        )


def _follow(
    paths: list[str],
    sink: Sink,
    options: WatchOptions,
    stopper: Stopper,
    clock: Callable[[], float],
) -> ExitCode:
    """The watch loop over files: draw, judge, wait (unless reading is behind), read."""
    stop = stopper.event.is_set
    sources = [Followed(p, options.history, stop) for p in paths]
    waker = Waker(paths, stopper, options.poll)
    changed = _read_pass(sources, clock(), 0)
    last_draw = 0.0
    turn = 0
    while True:
        now = clock()
        frames = [s.frame() for s in sources]
        if changed:
            sink.show(frames, changed, now)
            last_draw = now
            verdict = _verdict([frames[i] for i in changed], sink, options.fail_on)
            if verdict is not None:
                return verdict
        elif stopper.resized.is_set() or now - last_draw >= AGE_REFRESH_S:
            stopper.resized.clear()
            sink.tick(frames, now)
            last_draw = now
        if stop() or (options.until is not None and options.until(frames)):
            return ExitCode.OK
        if not any(s.pending for s in sources):
            waker.wait()
        if stop():
            return ExitCode.OK
        turn += 1
        changed = _read_pass(sources, clock(), turn)


def _read_pass(sources: list[Followed], now: float, turn: int) -> list[int]:
    """One bounded pass over the sources, starting at a different one each turn so that a
    fast writer cannot starve the others; the indexes of the frames that changed."""
    deadline = time.monotonic() + PASS_S
    n = len(sources)
    order = [(turn + k) % n for k in range(n)]
    return sorted(i for i in order if sources[i].update(now, deadline))


def _watch_stdin(
    sink: Sink, options: WatchOptions, stopper: Stopper, clock: Callable[[], float]
) -> ExitCode:
    """Follows a stream to its end: one frame per batch of input, the last at EOF."""
    source = Followed(STDIN, options.history)
    fd = sys.stdin.fileno()
    # epoll refuses regular files and /dev/null (`watch - < run.jsonl`); poll takes any
    # descriptor, and a file is always readable.
    poll = getattr(selectors, "PollSelector", selectors.SelectSelector)
    sel: selectors.BaseSelector = poll()
    sel.register(fd, selectors.EVENT_READ)
    sel.register(stopper.wake_fd, selectors.EVENT_READ)
    sink.show([source.frame()], [0], clock())
    last_draw = clock()
    eof = False
    try:
        while not eof and not stopper.event.is_set():
            ready = {key.fd for key, _ in sel.select(TICK_S)}
            stopper.drain()
            state = source.state
            batch_end = clock() + PASS_S
            while fd in ready and clock() < batch_end:
                try:
                    chunk = os.read(fd, BLOCK)
                except OSError as exc:  # the stream broke (a terminal hung up): it is over
                    source.note = f"read error: {exc.strerror or type(exc).__name__}; stream ended"
                    chunk = b""
                if not chunk:
                    eof = True
                    break
                source.state = fold(source.state, source.scanner.feed(chunk), clock())
                ready = {key.fd for key, _ in sel.select(0)}
            if eof:
                source.state = fold(source.state, source.scanner.finish(), clock())
            now = clock()
            if source.state != state or eof:
                sink.show([source.frame()], [0], now)
                last_draw = now
                verdict = _verdict([source.frame()], sink, options.fail_on)
                if verdict is not None:
                    return verdict
            elif stopper.resized.is_set() or now - last_draw >= AGE_REFRESH_S:
                stopper.resized.clear()
                sink.tick([source.frame()], now)
                last_draw = now
    finally:
        sel.close()
    return ExitCode.OK
