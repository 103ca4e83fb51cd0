"""The watch loops: over run files (``WatchLoop``) and over a stream (``StdinLoop``).

Each pass reads what arrived, judges the runs that changed, presents their frames, then
waits for news: a file that changed, a key, a signal, a tick. The loops hold what carries
from one pass to the next as fields, and take their clock, notifier and keys from the
caller, so that a test drives them one pass at a time with a fake clock and waker.
"""

from __future__ import annotations

import math
import os
import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from value_diag.commands.paths import named_in_order, shown_names
from value_diag.exitcodes import ExitCode
from value_diag.follow.follower import Followed
from value_diag.follow.history import Histories
from value_diag.follow.judging import frames_of, reached, stale_at, unseen, verdict, waiting
from value_diag.follow.limits import followable
from value_diag.follow.stopper import Stopper
from value_diag.follow.waker import TICK_S, UNKNOWN, Wake, Waker
from value_diag.follow.watchlist import Runs
from value_diag.frame import Frame
from value_diag.health import DEFAULT_RULES, Rules, Status
from value_diag.ingest.files import BLOCK, STDIN
from value_diag.ingest.fold import fold_file
from value_diag.ingest.urls import is_url
from value_diag.render.sinks import KeySource, Sink
from value_diag.render.terminal import silence_stdout
from value_diag.streams import Stopped, silence_shared_stderr

PASS_S: Final = 0.05
"""Longest one pass reads before the frame for what arrived so far is drawn and the stop
flag is asked (s): a writer faster than the fold still gets frames, and signals are obeyed."""
LOOK_S: Final = 1.0
"""How often a directory or pattern is looked at again for new run files (s), besides
when a file-system event says one was created; with --poll, at most as often as it polls."""
CHECK_ALL_S: Final = 1.0
"""How often every followed file is looked at even when file-system events named only
some (s): the net under an event that never came. Between, a wake-up reads the files
its events name, so following hundreds of files costs per line, not per file."""
NET_FILES: Final = 256
"""Files the net of CHECK_ALL_S looks at each time, at most. Up to this many, every file is
looked at every CHECK_ALL_S; the files of a bigger sweep take turns, each looked at every
(files / NET_FILES) * CHECK_ALL_S seconds, so that an idle sweep of thousands of runs does
not look at every file every second. What the file-system events name is read at once
whatever the sweep's size."""
AGE_REFRESH_S: Final = 1.0
"""How often a terminal frame is redrawn only to update the age (s)."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """How `watch` judges, follows and when it gives up."""

    rules: Rules = DEFAULT_RULES
    """What judges the runs (the thresholds, preset and gate in force)."""
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


class Notifier(Protocol):
    """What the loop waits on (follow/waker.py's Waker; a fake in tests)."""

    fallback: str | None

    def wait(self, timeout: float | None = None) -> Wake: ...

    def close(self) -> None: ...


NotifierFactory = Callable[
    [list[str], Stopper, "float | None", list[str], "KeySource | None"], Notifier
]
"""Makes the notifier of the local files, the stopper, --poll, the roots and the keys."""


class Presenter:
    """What both loops do after a read: draw and judge what changed, or only redraw for
    the age or a new terminal size when nothing did."""

    def __init__(
        self, sink: Sink, options: WatchOptions, stopper: Stopper, clock: Callable[[], float]
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
            if reached(frames, changed, self.fail_on, self.fail_count):
                self.stopper.code = ExitCode.FAIL  # before a write that may never end
            try:
                self.sink.show(frames, changed, now)
            except (BrokenPipeError, Stopped):  # the reader left, or a signal came while
                # stdout took nothing: the watch ends, the frames still judged
                silence_shared_stderr()  # `2>&1` into a pipe that takes nothing
                silence_stdout()
                said = verdict(frames, changed, self.sink, self.fail_on, self.fail_count)
                return said or ExitCode.OK
            self.last_draw = now
            return verdict(frames, changed, self.sink, self.fail_on, self.fail_count)
        if self.stopper.resized.is_set() or now - self.last_draw >= AGE_REFRESH_S:
            self.stopper.resized.clear()
            self.sink.tick(frames, now)
            self.last_draw = now
        return None


class WatchLoop:
    """The watch over run files: draw, judge, wait (unless reading is behind), read keys,
    read the files, and now and then look for new run files.

    ``clock`` gives the frames' time (time.time), ``ticks`` the loop's own timers: when
    to look for new run files and read every file (time.monotonic); ``notifier`` makes
    what it waits on (a Waker).
    """

    def __init__(
        self,
        runs: Runs,
        sink: Sink,
        options: WatchOptions,
        stopper: Stopper,
        clock: Callable[[], float] = time.time,
        keys: KeySource | None = None,
        notifier: NotifierFactory = Waker,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runs = runs
        self.sink = sink
        self.options = options
        self.stopper = stopper
        self.clock = clock
        self.keys = keys
        self.ticks = ticks
        self._notifier = notifier
        self.grows = runs.grows
        """Whether a target may name more files later (the targets never change; asked once:
        a sweep given as thousands of paths would ask each of them at every pass)."""
        self.known: dict[str, Followed] = {}
        """Every follower made, by path (kept across refreshes; closed at the end)."""
        self.sources, self.unfollowed = self._sources(len(runs.files))
        self.where = _where_followed(self.sources)
        self.waker = self._waker()
        self.present = Presenter(sink, options, stopper, clock)
        sink.histories(Histories(lambda: self.sources, ticks))
        self.frames: list[Frame] = []
        self.changed: list[int] = []
        """The sources whose frames changed in the last read."""
        self.turn = 0
        self.looked = self.checked = ticks()
        """When the targets were last looked at for new files, and the net last cast."""
        self._netted = 0
        """Where the net's next turn starts, in a sweep of more than NET_FILES files."""
        self.said: set[tuple[str, str | None]] = set()
        """The frames of what cannot be read already drawn: each once."""
        self.polling = False
        """Whether it said that it polls, notifications being unavailable."""
        self.wake = UNKNOWN
        self._runs: list[Frame] = []
        """The frames of the runs followed, as last judged (without those of ``unseen``)."""
        self._judged: list[Followed] | None = None
        self._since, self._until = 0.0, 0.0
        """The sources ``_runs`` were judged from, when, and when the first of them goes
        stale (--max-age) or loses the note of a change (NOTE_S, which ``update`` does not
        count as one): until then, a pass that read nothing new judges nothing."""

    def run(self) -> ExitCode:
        """Passes until one ends the watch; every file let go of at the end."""
        try:
            self.start()
            while True:
                code = self.step()
                if code is not None:
                    return code
        finally:
            self.close()

    def start(self) -> None:
        """The first read: the first frames are drawn whatever they hold."""
        _read_pass(self.sources, self.clock(), 0)
        self.changed = list(range(len(self.sources)))

    def step(self) -> ExitCode | None:
        """One pass: keys, judge and present, wait, read. The exit code if the watch ends.

        Keys come first: a key that arrived while the files were read is answered before
        the new data is drawn (which the sink then holds back for a moment), not after.
        """
        if self.dispatch_keys():  # on every pass, a reading burst or not
            return ExitCode.OK
        code = self.present(*self.judge())
        if code is not None:
            return code
        stop = self.stopper.event.is_set
        if stop() or (self.options.until is not None and self.options.until(self.frames)):
            return ExitCode.OK
        if self.wait():
            return ExitCode.OK
        if stop():
            return ExitCode.OK
        self.turn += 1
        self.refresh_targets()
        self.read()
        return None

    def judge(self) -> tuple[list[Frame], list[int]]:
        """The frames to show and the indexes of the new ones: every run judged once."""
        thresholds = self.options.rules
        shown_unseen = unseen(self.runs, self.unfollowed, thresholds)
        if self.sources or shown_unseen:
            now = self.clock()
            if (
                self.changed
                or self.sources is not self._judged
                or not self._since <= now < self._until
            ):
                self._runs, new = frames_of(self.sources, thresholds, self._runs, self.changed, now)
                fades = (s.fades_at for s in self.sources if s.fades_at is not None)
                until = min(stale_at(self._runs), *fades, math.inf)
                self._judged, self._since, self._until = self.sources, now, until
            else:  # nothing read changed, no run goes stale, no note fades yet: the same
                new = []
            frames = list(self._runs)
            new += [
                len(frames) + k
                for k, f in enumerate(shown_unseen)
                if (f.source, f.note) not in self.said
            ]
            self.said = {(f.source, f.note) for f in shown_unseen}
            frames += shown_unseen
        else:
            awaited = waiting(self.runs, thresholds)
            new = [
                i
                for i, f in enumerate(awaited)
                if self.changed
                or not self.turn
                or i >= len(self.frames)
                or self.frames[i].note != f.note
            ]
            frames = awaited
        self.frames = frames
        return frames, new

    def wait(self) -> bool:
        """Unless reading is behind, a wait for news no longer than the frame the sink
        holds back, then the keys it woke for; that frame drawn if due. True on q."""
        self.wake = UNKNOWN
        if not any(s.pending for s in self.sources):
            self.wake = self.waker.wait(self.sink.due())
            if self.dispatch_keys():
                return True
        self.sink.flush()
        return False

    def dispatch_keys(self) -> bool:
        """The keys waiting, all of them, given to the sink (one redraw for the batch);
        True if one ends the watch (q)."""
        keys = self.keys
        return keys is not None and keys.pending() and self.sink.press(keys.read_keys())

    def refresh_targets(self) -> None:
        """Looks for new run files (and deleted ones) when a file was created below a
        root, or every LOOK_S; follows what changed."""
        every = LOOK_S if self.options.poll is None else max(self.options.poll, LOOK_S)
        if not self.grows or not (self.wake.added or self.ticks() - self.looked >= every):
            return
        self.looked = self.ticks()
        if not self.runs.refresh():
            return
        self.wake = UNKNOWN  # the new files are read from the top
        for path in self.runs.dropped:  # deleted: its row goes, and its file is let go of
            gone = self.known.pop(path, None)
            if gone is not None:
                gone.close()
        self.sources, self.unfollowed = self._sources(followable(len(self.runs.files)))
        self.where = _where_followed(self.sources)
        self.waker.close()
        self.waker = self._waker()

    def read(self) -> None:
        """A pass over the files the wait named (every file now and then, or when it
        could not tell), then the notes of --latest's switches and of polling."""
        now = self.clock()
        only = None
        if self.wake.paths is not None:
            only = {i for p in self.wake.paths for i in self.where.get(p, ())}
            only |= {i for i, s in enumerate(self.sources) if s.pending or s.remote}
            if self.ticks() - self.checked >= CHECK_ALL_S:
                self.checked = self.ticks()
                net = self._net(now)
                only = None if net is None else only | net
        else:
            self.checked = self.ticks()
        changed = _read_pass(self.sources, now, self.turn, only)
        for i, s in enumerate(self.sources):
            if s.path in self.runs.switched:
                old = self.runs.switched.pop(s.path)
                s.announce(_switched(s.path, old, old in self.runs.dropped), now)
                changed = sorted({*changed, i})
        if self.waker.fallback is not None and not self.polling:  # said once, on every run
            self.polling = True
            for s in self.sources:
                s.announce(self.waker.fallback, now)
            changed = list(range(len(self.sources)))
        self.changed = changed

    def _net(self, now: float) -> set[int] | None:
        """The files the net looks at this time: None for every file (NET_FILES or fewer),
        else the next NET_FILES in turn, and those whose note fades by ``now`` (a file's
        note fades when it is looked at)."""
        n = len(self.sources)
        if n <= NET_FILES:
            return None
        start = self._netted % n
        self._netted = start + NET_FILES
        net = {(start + k) % n for k in range(NET_FILES)}
        for i, s in enumerate(self.sources):
            if s.fades_at is not None and now >= s.fades_at:
                net.add(i)
        return net

    def close(self) -> None:
        """Lets go of every file followed and stops the notifier."""
        self.waker.close()
        for s in self.known.values():
            s.close()

    def _waker(self) -> Notifier:
        files = self.runs.files
        local = [f for f in files if not is_url(f)]  # what notifications can tell of
        return self._notifier(local, self.stopper, self.options.poll, self.runs.roots, self.keys)

    def _sources(self, room: int) -> tuple[list[Followed], list[tuple[str, str]]]:
        """A follower per run file (kept across calls in ``known``), named by the shortest
        names that tell them apart, in natural order of those names. A remote file is
        looked at every ``runs.poll`` seconds, on its backend's thread.

        At most ``room`` files are followed (the open-file limit): those followed already
        first, then new ones in order; the others are returned with their names, to be
        shown as not followed until the files change.
        """
        named = named_in_order(self.runs.files)
        taken = {path for path, _ in named if path in self.known}
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
            s = self.known.get(path)
            if s is None:
                s = Followed(
                    path,
                    self.options.history,
                    self.stopper.event.is_set,
                    poll=self.runs.poll,
                    wake=self.stopper.poke,
                )
                self.known[path] = s
            s.name = name
            sources.append(s)
        return sources, unfollowed


def _switched(new: str, old: str, deleted: bool = False) -> str:
    """The note of a run --latest switched to: it and the run it replaces, by the shortest
    names that tell the two apart (``newer run seed2; was seed1``: the files of a sweep
    are often all ``run.jsonl``); ``seed2 deleted; now seed1`` when the run followed went."""
    now, was = shown_names([new, old])
    return f"{was} deleted; now {now}" if deleted else f"newer run {now}; was {was}"


def _read_pass(
    sources: list[Followed], now: float, turn: int, only: set[int] | None = None
) -> list[int]:
    """One bounded pass over the sources (those indexed by ``only``, if given), starting
    at a different one each turn so that a fast writer cannot starve the others; the
    indexes of the frames that changed. The pass is bounded in real time (the followers
    read until time.monotonic() reaches its deadline), whatever clock the loop runs on."""
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


class StdinLoop:
    """Follows a stream to its end: one frame per batch of input, the last at EOF."""

    def __init__(
        self,
        sink: Sink,
        options: WatchOptions,
        stopper: Stopper,
        clock: Callable[[], float] = time.time,
        *,
        fd: int,
    ) -> None:
        self.source = Followed(STDIN, options.history)
        self.options = options
        self.fd = fd
        """The stream read (the descriptor of the Environment's stdin)."""
        self.sink = sink
        self.stopper = stopper
        self.clock = clock
        self.present = Presenter(sink, options, stopper, clock)
        self.changed = True
        """The frame changed (the first is drawn before anything is read)."""
        self.eof = False
        self.frames: list[Frame] = []
        # epoll refuses regular files and /dev/null (`watch - < run.jsonl`); poll takes any
        # descriptor, and a file is always readable.
        poll = getattr(selectors, "PollSelector", selectors.SelectSelector)
        self.sel: selectors.BaseSelector = poll()
        self.sel.register(self.fd, selectors.EVENT_READ)
        self.sel.register(stopper.wake_fd, selectors.EVENT_READ)

    def run(self) -> ExitCode:
        """Passes until the stream ends, a signal, or --fail-on."""
        try:
            while True:
                code = self.step()
                if code is not None:
                    return code
        finally:
            self.sel.close()

    def step(self) -> ExitCode | None:
        """Presents the frame, then reads a batch; the exit code if the watch ends."""
        self.frames, new = frames_of(
            [self.source],
            self.options.rules,
            self.frames,
            [0] if self.changed else [],
            self.clock(),
        )
        code = self.present(self.frames, new)
        if code is not None:
            return code
        if self.eof or self.stopper.event.is_set():
            return ExitCode.OK
        self.changed, self.eof = self.read_batch()
        return None

    def read_batch(self) -> tuple[bool, bool]:
        """Waits up to a tick for input, then reads what comes for up to PASS_S.

        Returns whether the frame changed and whether the stream ended (its last frame is due).
        """
        source, fd, clock = self.source, self.fd, self.clock
        ready = {key.fd for key, _ in self.sel.select(TICK_S)}
        self.stopper.drain()
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
            ready = {key.fd for key, _ in self.sel.select(0)}
        return source.file != before, False
