"""What watch judges: the frames of the runs followed (each judged once), of what is
awaited or cannot be read, and the verdict of --fail-on and --fail-count."""

from __future__ import annotations

import math
from typing import NamedTuple
from weakref import WeakKeyDictionary

from value_diag.commands.framing import runs_of
from value_diag.exitcodes import ExitCode
from value_diag.follow.follower import CONNECTING, Followed
from value_diag.follow.limits import fd_limit
from value_diag.follow.watchlist import Runs
from value_diag.frame import Frame
from value_diag.gate import gate
from value_diag.health import Rules, Status, is_stale, reaches
from value_diag.ingest.files import display_name
from value_diag.ingest.fold import FileState
from value_diag.ingest.runfiles import Target
from value_diag.naming import visible
from value_diag.render.sinks import Sink
from value_diag.state import FoldState


def verdict(
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


def held_back(frames: list[Frame], sink: Sink, fail_on: Status | None) -> None:
    """At the end of a watch that --fail-on did not end: each run shown at its level or
    worse that the gate holds back (the warm-up, a level not held yet) says why."""
    if fail_on is None:
        return
    for frame in frames:
        if reaches(frame.health.status, fail_on):  # else nothing is held back: not judged
            line = sink.renderer.held_back(frame, fail_on, gate(frame))
            if line is not None:
                sink.conclude(line)


def reached(
    frames: list[Frame], changed: list[int], fail_on: Status | None, fail_count: int
) -> bool:
    """Whether the new frames end the watch at --fail-on (what ``verdict`` says FAIL to)."""
    if fail_on is None or not any(reaches(gate(frames[i]).level, fail_on) for i in changed):
        return False
    if fail_count == 1:
        return True
    from value_diag.render.compare import failing

    return len(failing(frames, fail_on)) >= fail_count


def frames_of(
    sources: list[Followed],
    thresholds: Rules,
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

    A source that did not change since it was last judged, with the same note, name and
    rules, none of its runs due to go stale and the clock not gone back, gives the frames
    it gave then (``_MADE``) without its runs being looked at: a sweep of thousands of
    runs, a few of which write, is judged at the cost of those few.
    """
    kept: dict[str, Frame] | None = None  # made once a source is looked at again
    frames: list[Frame] = []
    new: list[int] = []
    again = set(changed)
    for i, s in enumerate(sources):
        if not s.ready:
            source = display_name(s.path)
            short = None if s.name == source else s.name
            frames.append(Frame(source, FoldState(), CONNECTING, thresholds, now, short))
            continue
        made = _MADE.get(s)
        if i not in again and made is not None and made.same(s, thresholds, now):
            frames += made.frames
            continue
        if kept is None:
            kept = {f.source: f for f in last}
        first = len(frames)
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
            frames.append(
                Frame(source, state, s.note, thresholds, now, short, limits=s.file.limits)
            )
        own = frames[first:]
        _MADE[s] = _Made(s.file, s.note, s.name, thresholds, now, own, stale_at(own))
    return frames, new


class _Made(NamedTuple):
    """What a source was judged from, when, and the frames it gave."""

    file: FileState
    note: str | None
    name: str
    rules: Rules
    at: float
    frames: list[Frame]
    stale_at: float
    """When the first of them that is not stale goes stale (``stale_at``)."""

    def same(self, s: Followed, rules: Rules, now: float) -> bool:
        """Whether judging ``s`` again at ``now`` would give these frames."""
        return (
            self.file is s.file
            and self.note == s.note
            and self.name == s.name
            and self.rules is rules
            and self.at <= now < self.stale_at
        )


_MADE: WeakKeyDictionary[Followed, _Made] = WeakKeyDictionary()
"""Each followed source's last judging (``frames_of``), for as long as it is followed."""


def waiting(runs: Runs, thresholds: Rules) -> list[Frame]:
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


def unseen(runs: Runs, unfollowed: list[tuple[str, str]], thresholds: Rules) -> list[Frame]:
    """Frames for what should be judged and cannot be: each folder that could not be read
    (looked at again as the watch goes), and each run file beyond the open-file limit
    (followed once deleted runs make room)."""
    frames = [
        Frame(visible(f.path), FoldState(), f"cannot read folder: {f.reason}; retrying", thresholds)
        for f in runs.unreadable
    ]
    if unfollowed:
        note = f"not followed: the open-file limit (ulimit -n) is {fd_limit()}"
        frames += [
            Frame(display_name(path), FoldState(), note, thresholds, short=name)
            for path, name in unfollowed
        ]
    return frames


def stale_at(frames: list[Frame]) -> float:
    """When the first of ``frames`` that is not stale goes stale (the clock of its frame;
    infinity when none can: no --max-age, or no record): until then, judging them again
    without new data changes nothing."""
    due = math.inf
    for f in frames:
        max_age = f.rules.max_age
        last = f.state.last_update
        if f.health.stale is None and max_age is not None and last is not None:
            due = min(due, last + max_age)
    return due
