"""`value-diag watch`: follow one or more growing files (or stdin) and redraw on every update."""

from __future__ import annotations

import contextlib
import os
import selectors
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from value_diag.commands.follower import CONNECTING, REMOTE_POLL_S, Followed
from value_diag.commands.framing import runs_of
from value_diag.commands.paths import named_in_order, shown_names, targets
from value_diag.commands.stopper import Stopper
from value_diag.commands.waker import TICK_S, UNKNOWN, Waker
from value_diag.commands.watchlist import Runs
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode
from value_diag.frame import Frame
from value_diag.gate import gate
from value_diag.health import Status, Thresholds, is_stale, reaches
from value_diag.ingest.files import BLOCK, STDIN, display_name
from value_diag.ingest.fold import fold_file
from value_diag.ingest.parallel import Interrupted
from value_diag.ingest.runfiles import Kind, Target
from value_diag.ingest.urls import is_url
from value_diag.naming import visible
from value_diag.render.sinks import Sink
from value_diag.render.terminal import silence_stdout
from value_diag.state import FoldState
from value_diag.streams import Stopped, silence_shared_stderr

if TYPE_CHECKING:
    from value_diag.render.keys import KeyReader

PASS_S: Final = 0.05
"""Longest one pass reads before the frame for what arrived so far is drawn and the stop
flag is asked (s): a writer faster than the fold still gets frames, and signals are obeyed."""
FD_RESERVE: Final = 32
"""Open files value-diag needs besides one per followed file (streams, pipes, notifications)."""
LOOK_S: Final = 1.0
"""How often a directory or pattern is looked at again for new run files (s), besides
when a file-system event says one was created; with --poll, at most as often as it polls."""
CHECK_ALL_S: Final = 1.0
"""How often every followed file is looked at even when file-system events named only
some (s): the net under an event that never came. Between, a wake-up reads the files
its events name, so following hundreds of files costs per line, not per file."""
AGE_REFRESH_S: Final = 1.0
"""How often a terminal frame is redrawn only to update the age (s)."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How `watch` follows and when it gives up."""

    fail_on: Status | None = None
    fail_count: int = 1
    """Runs whose latest frame must reach ``fail_on`` together for the watch to end."""
    poll: float | None = None
    """Seconds between looks when polling; None to use file-system notifications."""
    history: int = 0
    """Value records kept for the trend column (0: no trend)."""
    until: Callable[[list[Frame]], bool] | None = None
    """Files only: the watch ends (exit 0) once this is true of the frames on screen."""
    pattern: str | None = None
    """The run files a directory stands for (default: every *.jsonl below it)."""
    latest: bool = False
    """A directory or pattern stands for its newest run file only, switching to newer ones."""


def _verdict(
    frames: list[Frame], changed: list[int], sink: Sink, fail_on: Status | None, fail_count: int
) -> ExitCode | None:
    """FAIL, said on stderr with the run and its culprits, once a new frame reaches
    ``fail_on`` and, with ``fail_count``, the latest frames of that many runs have."""
    if fail_on is None:
        return None
    for frame in (frames[i] for i in changed):
        if fail_count == 1 and reaches(gate(frame).level, fail_on):
            sink.conclude(sink.renderer.verdict(frame, fail_on))
            return ExitCode.FAIL
    if fail_count == 1 or not any(reaches(gate(frames[i]).level, fail_on) for i in changed):
        return None
    from value_diag.render.compare import count_line, failing

    failed = failing(frames, fail_on)
    if len(failed) < fail_count:
        return None
    for frame in failed:
        sink.conclude(sink.renderer.verdict(frame, fail_on))
    sink.conclude(count_line(frames, fail_on, fail_count, sink.renderer.ascii_only))
    return ExitCode.FAIL


def _reached(
    frames: list[Frame], changed: list[int], fail_on: Status | None, fail_count: int
) -> bool:
    """Whether the new frames end the watch at --fail-on (what ``_verdict`` says FAIL to)."""
    if fail_on is None or not any(reaches(gate(frames[i]).level, fail_on) for i in changed):
        return False
    if fail_count == 1:
        return True
    from value_diag.render.compare import failing

    return len(failing(frames, fail_on)) >= fail_count


def _frames(
    sources: list[Followed],
    thresholds: Thresholds,
    last: list[Frame],
    changed: list[int],
    now: float,
) -> tuple[list[Frame], list[int]]:
    """The frames of the sources' runs, each judged once, and the indexes of the new ones.

    A run whose state, note and name are those of its frame in ``last`` (by source)
    keeps that frame, and its health, until it goes stale (--max-age): nothing is judged
    again for a run that did not change. ``changed`` indexes the sources that changed:
    their runs with a new frame are new, and so is a run that went stale; a frame made
    again only because its note went is not.

    A source not ``ready`` (a remote file whose first look is not read through) has a
    placeholder frame, with no data and the note CONNECTING, which is never new: a
    terminal draws it, a log gets the source's first frame once it says what the file holds.
    """
    kept = {f.source: f for f in last}
    frames: list[Frame] = []
    new: list[int] = []
    for i, s in enumerate(sources):
        if not s.ready:
            source = display_name(s.path)
            short = None if s.name == source else s.name
            frames.append(Frame(source, FoldState(), CONNECTING, thresholds, now, short))
            continue
        for source, short, state in runs_of(s.file, s.path, s.name):
            f = kept.get(source)
            same = f is not None and f.state is state and f.note == s.note and f.short == short
            if f is not None and same:
                if f.health.stale is not None or not is_stale(f.age(now), thresholds):
                    frames.append(f)
                    continue
                new.append(len(frames))  # it went stale
            elif i in changed:
                new.append(len(frames))
            frames.append(Frame(source, state, s.note, thresholds, now, short))
    return frames, new


def _waiting(runs: Runs, thresholds: Thresholds) -> list[Frame]:
    """Frames saying what is awaited while no run file is there to follow (and why a
    remote directory could not be listed, while it cannot)."""
    frames = []
    for i, t in enumerate(runs.found):
        error = runs.listing_error(i)
        said = f" ({error}; retrying)" if error else ""
        shown = display_name(t.given)  # a URL without its credentials
        note = f"waiting for run files {_where(t, shown)}{said}"
        frames.append(Frame(shown, FoldState(), note, thresholds))
    return frames


def _where(t: Target, shown: str) -> str:
    return f"matching {shown}" if t.matches else f"in {shown}"


def _unseen(runs: Runs, unfollowed: list[tuple[str, str]], thresholds: Thresholds) -> list[Frame]:
    """Frames for what should be judged and cannot be: each folder that could not be read
    (looked at again as the watch goes), and each run file beyond the open-file limit
    (followed once deleted runs make room)."""
    frames = [
        Frame(visible(f.path), FoldState(), f"cannot read folder: {f.reason}; retrying", thresholds)
        for f in runs.unreadable
    ]
    if unfollowed:
        note = f"not followed: the open-file limit (ulimit -n) is {_fd_limit()}"
        frames += [
            Frame(display_name(path), FoldState(), note, thresholds, short=name)
            for path, name in unfollowed
        ]
    return frames


def run_watch(
    paths: list[str],
    sink: Sink,
    options: WatchOptions,
    clock: Callable[[], float] = time.time,
    before_fatal: Callable[[], None] | None = None,
) -> ExitCode:
    """Follows the sources until a signal, --fail-on, or the end of stdin.

    A signal such as SIGQUIT (stopper.FATAL) ends the process once the terminal is
    restored, after ``before_fatal`` (what the caller must still clean up).

    Raises:
        ReadError: a path is a directory or a pattern that matched nothing, or the files
            cannot all be followed (the open-file limit is too low).
    """
    found = targets(paths, options.pattern)
    for t in found:
        if t.kind is Kind.PATTERN and not os.path.isdir(t.root):
            raise ReadError(f"no file matches {t.given}")
    stopper = Stopper()
    sink.stop_when(stopper.event.is_set)
    stopper.abandon = sink.abandon
    code = _run(paths, found, sink, options, stopper, clock)
    if stopper.fatal is not None and before_fatal is not None:
        before_fatal()
    stopper.reraise()  # SIGQUIT and its kin: the terminal is restored, now the signal ends it
    return code


def _run(
    paths: list[str],
    found: list[Target],
    sink: Sink,
    options: WatchOptions,
    stopper: Stopper,
    clock: Callable[[], float],
) -> ExitCode:
    """The body of ``run_watch``, its signals' handlers installed."""
    if paths == [STDIN]:
        with stopper.installed(), sink:
            return _watch_stdin(sink, options, stopper, clock)
    poll = REMOTE_POLL_S if options.poll is None else options.poll
    try:
        runs = Runs(found, options.latest, wake=stopper.poke, poll=poll, stop=stopper.event.is_set)
    except KeyboardInterrupt:  # Ctrl-C while a remote directory is first listed: as later
        return ExitCode.OK
    try:
        make_room(len(runs.files))
        keys = sink.keys()
        with stopper.installed(), keys or contextlib.nullcontext(), sink:
            try:
                return _follow(runs, sink, options, stopper, clock, keys)
            except Interrupted:  # a signal arrived while a large file was read from the top
                return ExitCode.OK
    finally:
        runs.close()


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


def followable(files: int) -> int:
    """How many of ``files`` run files can be followed: all, once make_room has raised
    the soft open-file limit for them, else as many as the limit leaves room for."""
    try:
        make_room(files)
    except ReadError:
        return max(_fd_limit() - FD_RESERVE, 0)
    return files


def _fd_limit() -> int:
    """The soft open-file limit (a large number where there is none, or no POSIX)."""
    try:
        import resource
    except ImportError:
        return 1 << 30
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 30 if soft == resource.RLIM_INFINITY else soft


class _Step:
    """What both watch loops do after a read: draw and judge what changed, or only redraw
    for the age or a new terminal size when nothing did."""

    def __init__(
        self,
        sink: Sink,
        options: WatchOptions,
        stopper: Stopper,
        clock: Callable[[], float],
    ) -> None:
        self.sink = sink
        self.fail_on = options.fail_on
        self.fail_count = options.fail_count
        self.stopper = stopper
        self.clock = clock
        self.last_draw = 0.0

    def __call__(self, frames: list[Frame], changed: list[int]) -> ExitCode | None:
        """Shows ``frames`` (``changed`` indexes the new ones); the exit code if they end
        the watch (--fail-on reached), else None."""
        now = self.clock()
        if changed:
            if _reached(frames, changed, self.fail_on, self.fail_count):
                self.stopper.code = ExitCode.FAIL  # before a write that may never end
            try:
                self.sink.show(frames, changed, now)
            except (BrokenPipeError, Stopped):  # the reader left, or a signal came while
                # stdout took nothing: the watch ends, the frames still judged
                silence_shared_stderr()  # `2>&1` into a pipe that takes nothing
                silence_stdout()
                verdict = _verdict(frames, changed, self.sink, self.fail_on, self.fail_count)
                return verdict or ExitCode.OK
            self.last_draw = now
            return _verdict(frames, changed, self.sink, self.fail_on, self.fail_count)
        if self.stopper.resized.is_set() or now - self.last_draw >= AGE_REFRESH_S:
            self.stopper.resized.clear()
            self.sink.tick(frames, now)
            self.last_draw = now
        return None


def _follow(
    runs: Runs,
    sink: Sink,
    options: WatchOptions,
    stopper: Stopper,
    clock: Callable[[], float],
    keys: KeyReader | None = None,
) -> ExitCode:
    """The watch loop over files: draw, judge, wait (unless reading is behind), read,
    and now and then look for new run files."""
    known: dict[str, Followed] = {}
    try:
        return _loop(runs, known, sink, options, stopper, clock, keys)
    finally:
        for s in known.values():
            s.close()


def _loop(
    runs: Runs,
    known: dict[str, Followed],
    sink: Sink,
    options: WatchOptions,
    stopper: Stopper,
    clock: Callable[[], float],
    keys: KeyReader | None,
) -> ExitCode:
    """The loop of ``_follow``; ``known`` gathers every follower made, for closing."""
    stop = stopper.event.is_set
    sources, unfollowed = _sources(runs, known, options, stopper, len(runs.files))
    waker = Waker(_local(runs.files), stopper, options.poll, runs.roots, keys)
    step = _Step(sink, options, stopper, clock)
    _read_pass(sources, clock(), 0)
    changed = list(range(len(sources)))  # the first frames are drawn whatever they hold
    turn = 0
    frames: list[Frame] = []
    looked = checked = time.monotonic()
    where = _where_followed(sources)
    said: set[tuple[str, str | None]] = set()  # the _unseen frames drawn: each once
    polling = False  # whether it said that it polls, notifications being unavailable
    while True:
        thresholds = sink.renderer.thresholds
        unseen = _unseen(runs, unfollowed, thresholds)
        if sources or unseen:
            frames, new = _frames(sources, thresholds, frames, changed, clock())
            new += [len(frames) + k for k, f in enumerate(unseen) if (f.source, f.note) not in said]
            said = {(f.source, f.note) for f in unseen}
            frames += unseen
        else:
            waiting = _waiting(runs, thresholds)
            new = [
                i
                for i, f in enumerate(waiting)
                if changed or not turn or i >= len(frames) or frames[i].note != f.note
            ]
            frames = waiting
        verdict = step(frames, new)
        if verdict is not None:
            return verdict
        if stop() or (options.until is not None and options.until(frames)):
            return ExitCode.OK
        wake = UNKNOWN
        if _pressed(keys, sink):  # read on every pass, a reading burst or not
            return ExitCode.OK
        if not any(s.pending for s in sources):
            wake = waker.wait(sink.due())
            if _pressed(keys, sink):
                return ExitCode.OK
        sink.flush()
        if stop():
            return ExitCode.OK
        turn += 1
        every = LOOK_S if options.poll is None else max(options.poll, LOOK_S)
        if runs.grows and (wake.added or time.monotonic() - looked >= every):
            looked = time.monotonic()
            if runs.refresh():
                wake = UNKNOWN  # the new files are read from the top
                for path in runs.dropped:  # deleted: its row goes, and its file is let go of
                    gone = known.pop(path, None)
                    if gone is not None:
                        gone.close()
                room = followable(len(runs.files))
                sources, unfollowed = _sources(runs, known, options, stopper, room)
                where = _where_followed(sources)
                waker.close()
                waker = Waker(_local(runs.files), stopper, options.poll, runs.roots, keys)
        only = None
        if wake.paths is not None and time.monotonic() - checked < CHECK_ALL_S:
            only = {i for p in wake.paths for i in where.get(p, ())}
            only |= {i for i, s in enumerate(sources) if s.pending or s.remote}
        else:
            checked = time.monotonic()
        now = clock()
        changed = _read_pass(sources, now, turn, only)
        for i, s in enumerate(sources):
            if s.path in runs.switched:
                old = runs.switched.pop(s.path)
                s.announce(_switched(s.path, old, old in runs.dropped), now)
                changed = sorted({*changed, i})
        if waker.fallback is not None and not polling:  # said once, on every run
            polling = True
            for s in sources:
                s.announce(waker.fallback, now)
            changed = list(range(len(sources)))


def _pressed(keys: KeyReader | None, sink: Sink) -> bool:
    """The keys waiting, all of them, given to the sink (one redraw for the batch);
    True if one ends the watch (q)."""
    return keys is not None and keys.pending() and sink.press(keys.read_keys())


def _switched(new: str, old: str, deleted: bool = False) -> str:
    """The note of a run --latest switched to: it and the run it replaces, by the shortest
    names that tell the two apart (``newer run seed2; was seed1``: the files of a sweep
    are often all ``run.jsonl``); ``seed2 deleted; now seed1`` when the run followed went."""
    now, was = shown_names([new, old])
    return f"{was} deleted; now {now}" if deleted else f"newer run {now}; was {was}"


def _sources(
    runs: Runs, known: dict[str, Followed], options: WatchOptions, stopper: Stopper, room: int
) -> tuple[list[Followed], list[tuple[str, str]]]:
    """A follower per run file (kept across calls in ``known``), named by the shortest
    names that tell them apart, in natural order of those names. A remote file is
    looked at every ``runs.poll`` seconds, on its backend's thread.

    At most ``room`` files are followed (the open-file limit): those followed already
    first, then new ones in order; the others are returned with their names, to be
    shown as not followed until the files change.
    """
    named = named_in_order(runs.files)
    taken = {path for path, _ in named if path in known}
    for path, _ in named:
        if len(taken) >= room:
            break
        taken.add(path)
    sources = []
    unfollowed = []
    for path, name in named:
        if path not in taken:
            unfollowed.append((path, name))
            continue
        s = known.get(path)
        if s is None:
            s = Followed(
                path, options.history, stopper.event.is_set, poll=runs.poll, wake=stopper.poke
            )
            known[path] = s
        s.name = name
        sources.append(s)
    return sources, unfollowed


def _local(files: list[str]) -> list[str]:
    """The files that are not URLs: the ones file-system notifications can tell of."""
    return [f for f in files if not is_url(f)]


def _read_pass(
    sources: list[Followed], now: float, turn: int, only: set[int] | None = None
) -> list[int]:
    """One bounded pass over the sources (those indexed by ``only``, if given), starting
    at a different one each turn so that a fast writer cannot starve the others; the
    indexes of the frames that changed."""
    deadline = time.monotonic() + PASS_S
    n = len(sources)
    order = [(turn + k) % n for k in range(n)]
    if only is not None:
        order = [i for i in order if i in only]
    return sorted(i for i in order if sources[i].update(now, deadline))


def _where_followed(sources: list[Followed]) -> dict[str, list[int]]:
    """The paths file-system events name (absolute, and a symlink's target) -> the
    indexes of the sources that follow them."""
    where: dict[str, list[int]] = {}
    for i, s in enumerate(sources):
        if not s.remote:
            absolute = os.path.abspath(s.path)
            for p in {absolute, os.path.realpath(absolute)}:
                where.setdefault(p, []).append(i)
    return where


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
    step = _Step(sink, options, stopper, clock)
    changed, eof = True, False  # the first frame is drawn before anything is read
    frames: list[Frame] = []
    try:
        while True:
            frames, new = _frames(
                [source], sink.renderer.thresholds, frames, [0] if changed else [], clock()
            )
            verdict = step(frames, new)
            if verdict is not None:
                return verdict
            if eof or stopper.event.is_set():
                return ExitCode.OK
            changed, eof = _read_batch(source, fd, sel, stopper, clock)
    finally:
        sel.close()


def _read_batch(
    source: Followed,
    fd: int,
    sel: selectors.BaseSelector,
    stopper: Stopper,
    clock: Callable[[], float],
) -> tuple[bool, bool]:
    """Waits up to a tick for input, then reads what comes for up to PASS_S.

    Returns whether the frame changed and whether the stream ended (its last frame is due).
    """
    ready = {key.fd for key, _ in sel.select(TICK_S)}
    stopper.drain()
    before = source.file
    batch_end = clock() + PASS_S
    while fd in ready and clock() < batch_end:
        try:
            chunk = os.read(fd, BLOCK)
        except OSError as exc:  # the stream broke (a terminal hung up): it is over
            source.note = f"read error: {exc.strerror or type(exc).__name__}; stream ended"
            chunk = b""
        if not chunk:
            source.file = fold_file(source.file, source.scanner.finish(), clock())
            return True, True
        source.file = fold_file(source.file, source.scanner.feed(chunk), clock())
        ready = {key.fd for key, _ in sel.select(0)}
    return source.file != before, False
