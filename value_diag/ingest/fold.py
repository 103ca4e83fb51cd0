"""Parsed lines -> the latest state of the run and honest counters. Pure: the clock is passed in."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from itertools import repeat
from typing import TYPE_CHECKING, Final

from value_diag.ingest.lines import Line
from value_diag.ingest.parse import BadLine, Record, parse
from value_diag.naming import run_name
from value_diag.schema import CHANGE_FIELDS, RULE_FIELDS
from value_diag.state import Compile, FoldState, Update, Values, merge, shift, stamp

if TYPE_CHECKING:  # a spawned reading process folds without the frame's modules
    from value_diag.frame import SourceLimits

_Kept = tuple[Record | Update, Values | None]
"""A value record an _Effect keeps, made an Update only if still kept at the end: a record
and the nine as shown after it, or a segment's Update and the nine shown before that
segment (which fill in those it had not reported yet)."""


_CHANGE: Final = RULE_FIELDS.index(CHANGE_FIELDS[0])
"""Where critic_change stands in a line's RULE_FIELDS."""


class Keep(Enum):
    """Marks a part that no line of a segment touched."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True, slots=True)
class Segment:
    """What a run of consecutive lines does to any state.

    Summaries of consecutive parts of a file applied in order give the same state as
    folding the whole file line by line, so a big file can be read in parts at once.

    Attributes:
        records: lines that were used.
        bad_lines: examined lines that could not be used.
        last_error: (line number, reason) of the segment's newest bad line.
        values: the nine metrics the segment leaves, each the newest it reported (None
            for one it did not report since its last new run), None if a new run cleared
            them and none was reported since, KEEP if no line touched them.
        values_at: for each of the nine, the update after the segment's last new run (or
            its first line) that last reported it, or None.
        compile: the newest compile status in the segment, None if none.
        lines: complete lines in the segment (to number the lines of the next one).
        history: the segment's newest value records (up to the length asked for),
            after its last new run.
        restarted: the segment holds a new run, so the history before it is over.
        critic: the critic's five numbers the segment leaves, None if a new run cleared
            them, KEEP if no line touched them.
        step: the training step the segment leaves, None if a new run cleared it, KEEP
            if no line named one.
        shared: once a line of a group is met, what the lines of no group do (the
            fields above are then what all the lines do); None while none was met.
        groups: per group met, in order of first appearance: what its lines and the
            lines of no group do, from the segment's first line.
        fit: the FIT_FIELDS the segment leaves, None if a new run cleared them, KEEP if
            no line touched them.
        updates: value records after the segment's last new run (all of them if none).
        recent: the segment's newest value records (up to the length asked for), after
            its last new run.
        writer: the writer named by the segment's last new run (when ``restarted``).
        rules: the rules named by the segment's last new run (when ``restarted``).
        mean_abs_td: what the ``bellman_error`` of the values the segment leaves is (when
            ``values`` is not KEEP).
        moved: the furthest the critic's weights moved between two lines after the
            segment's last new run (all of them if none): the largest ``critic_change``
            given, 0 if none was above 0 (a NaN is no move).
    """

    records: int = 0
    bad_lines: int = 0
    last_error: tuple[int, str] | None = None
    values: Values | Keep | None = KEEP
    compile: Compile | None = None
    lines: int = 0
    history: tuple[tuple[float | None, ...], ...] = ()
    restarted: bool = False
    shared: Segment | None = None
    groups: tuple[tuple[str, Segment], ...] = ()
    critic: tuple[float | None, ...] | Keep | None = KEEP
    step: int | Keep | None = KEEP
    fit: tuple[float | None, ...] | Keep | None = KEEP
    updates: int = 0
    recent: tuple[Update, ...] = ()
    writer: str | None = None
    rules: str | None = None
    mean_abs_td: bool = False
    values_at: tuple[int | None, ...] | None = None
    moved: float = 0.0


class _Effect:
    """What lines do to a state, gathered line by line (the mutable side of a Segment)."""

    __slots__ = (
        "bad",
        "compile",
        "critic",
        "fit",
        "history",
        "last_error",
        "mean_abs_td",
        "moved",
        "recent",
        "records",
        "restarted",
        "rules",
        "step",
        "updates",
        "values",
        "values_at",
        "writer",
    )

    def __init__(self, history_len: int, recent_len: int = 0) -> None:
        self.values: Values | Keep | None = KEEP
        self.values_at: tuple[int | None, ...] | None = None
        self.compile: Compile | None = None
        self.records = 0
        self.bad = 0
        self.last_error: tuple[int, str] | None = None
        self.history: deque[tuple[float | None, ...]] = deque(maxlen=history_len)
        self.restarted = False
        self.critic: tuple[float | None, ...] | Keep | None = KEEP
        self.step: int | Keep | None = KEEP
        self.fit: tuple[float | None, ...] | Keep | None = KEEP
        self.updates = 0
        self.recent: deque[_Kept] = deque(maxlen=recent_len)
        self.writer: str | None = None
        self.rules: str | None = None
        self.mean_abs_td = False
        self.moved = 0.0

    @property
    def touched(self) -> bool:
        """Whether any line was taken."""
        return bool(self.records or self.bad)

    def copy(self) -> _Effect:
        twin = _Effect(0)
        twin.values, twin.compile, twin.records, twin.bad = (
            self.values,
            self.compile,
            self.records,
            self.bad,
        )
        twin.last_error, twin.restarted = self.last_error, self.restarted
        twin.history = self.history.copy()
        twin.critic, twin.step = self.critic, self.step
        twin.fit, twin.updates, twin.recent = self.fit, self.updates, self.recent.copy()
        twin.writer, twin.rules = self.writer, self.rules
        twin.mean_abs_td, twin.values_at = self.mean_abs_td, self.values_at
        twin.moved = self.moved
        return twin

    def take(self, number: int, parsed: Record | BadLine) -> None:
        if isinstance(parsed, BadLine):
            self.bad += 1
            self.last_error = (number, parsed.reason)
            return
        self.records += 1
        if parsed.new_run:
            self.values = self.values_at = None
            self.critic = None
            self.fit = None
            self.step = None
            self.history.clear()
            self.recent.clear()
            self.updates = 0
            self.restarted = True
            self.writer, self.rules = parsed.writer, parsed.rules
            self.mean_abs_td = False
            self.moved = 0.0
        if parsed.step is not None:
            self.step = parsed.step
        update = parsed.is_update
        if update or parsed.critic is not None:
            # The critic's numbers describe the rollout of the nine: a value line without
            # them leaves them unreported, never an older update's beside newer metrics.
            self.critic = parsed.critic
        if update or parsed.fit is not None:
            self.fit = parsed.fit  # the same, for the same reason
            change = None if parsed.fit is None else parsed.fit[_CHANGE]
            if change is not None and change > self.moved:
                self.moved = change  # NaN is not a move
        values = parsed.values
        shown = self.values if type(self.values) is tuple else None
        if values is not None:
            if None in values:  # a line that reports some of the nine
                shown = self.values = merge(values, shown)
                self.values_at = stamp(values, self.updates + 1, self.values_at)
            else:
                shown = self.values = values
                self.values_at = (self.updates + 1,) * len(values)
            self.mean_abs_td = parsed.mean_abs_td
            if self.history.maxlen:
                self.history.append(values + _explained_variance(parsed))
        if update:
            self.updates += 1
            if self.recent.maxlen:
                # made an Update only if it is still kept at the end
                self.recent.append((parsed, shown))
        if parsed.compile is not None:
            self.compile = parsed.compile

    def absorb(self, seg: Segment, kept: bool = True) -> None:
        """Takes the effect of later lines at once, as ``take`` would line by line.

        ``seg`` is of lines of no group (no ``shared``, no ``groups``), summarised with
        the same history and recent lengths as this effect. ``kept`` False: its value
        records are pushed out by later ones anyway, history and recent are left alone.
        """
        if not seg.records and not seg.bad_lines:
            return
        self.records += seg.records
        self.bad += seg.bad_lines
        if seg.last_error is not None:
            self.last_error = seg.last_error
        if seg.restarted:
            self.values = self.values_at = None
            self.critic = self.fit = self.step = None
            if kept:
                self.history.clear()
                self.recent.clear()
            self.updates = 0
            self.restarted = True
            self.writer, self.rules = seg.writer, seg.rules
            self.mean_abs_td = False
            self.moved = 0.0
        self.moved = max(self.moved, seg.moved)
        if seg.step is not KEEP:
            self.step = seg.step
        if seg.critic is not KEEP:
            self.critic = seg.critic
        if seg.fit is not KEEP:
            self.fit = seg.fit
        shown = self.values if type(self.values) is tuple else None
        if seg.values is not KEEP:
            if seg.values is None or seg.values_at is None:
                self.values, self.values_at = seg.values, seg.values_at
            else:
                self.values = merge(seg.values, shown)
                self.values_at = shift(seg.values_at, self.updates, self.values_at)
            self.mean_abs_td = seg.mean_abs_td
        if kept:
            self.history.extend(seg.history)
            self.recent.extend(zip(seg.recent, repeat(shown)))
        self.updates += seg.updates
        if seg.compile is not None:
            self.compile = seg.compile

    def segment(self, line_count: int = 0) -> Segment:
        return Segment(
            self.records,
            self.bad,
            self.last_error,
            self.values,
            self.compile,
            line_count,
            tuple(self.history),
            self.restarted,
            critic=self.critic,
            step=self.step,
            fit=self.fit,
            updates=self.updates,
            recent=tuple(_kept_update(first, shown) for first, shown in self.recent),
            writer=self.writer,
            rules=self.rules,
            mean_abs_td=self.mean_abs_td,
            values_at=self.values_at,
            moved=self.moved,
        )


def _kept_update(first: Record | Update, shown: Values | None) -> Update:
    """A kept value record as an Update (see _Kept)."""
    if not isinstance(first, Update):
        return _update(first, shown)
    if shown is None or (first.values is not None and None not in first.values):
        return first
    return first._replace(values=shown if first.values is None else merge(first.values, shown))


def _update(r: Record, shown: Values | None) -> Update:
    """What FoldState.recent keeps of a value record: the nine as a frame showed them
    after it (those the segment had not reported yet are filled in by ``apply``)."""
    return Update(shown, r.critic, r.fit, r.step, r.mean_abs_td)


def _explained_variance(parsed: Record) -> tuple[float, ...]:
    """What a value record adds to the nine in the history: its explained variance, if any."""
    ev = None if parsed.critic is None else parsed.critic[0]
    return () if ev is None else (ev,)


def summarize(
    lines: Iterable[Line], line_count: int = 0, history_len: int = 0, recent_len: int = 0
) -> Segment:
    """The effect of numbered lines, in order; bad lines are counted and change nothing.

    The newest ``history_len`` value records are kept for trends, and the newest
    ``recent_len`` as Updates. A line of a group is the group's; a line of no group (and
    a bad line that names none) is every group's.

    A line of no group is taken once, whatever the number of groups: each group takes
    the runs of them it missed, summarised (_Chunks), just before its next line and at
    the end, so the cost grows with the lines and the groups, not with their product.
    """
    whole = _Effect(history_len, recent_len)
    shared: _Effect | None = None
    chunks = _Chunks(history_len, recent_len)
    for number, line in lines:
        parsed = parse(line) if isinstance(line, bytes) else line
        if parsed is None:
            continue
        group = parsed.group
        if group is None:
            if shared is not None:
                shared.take(number, parsed)
                chunks.take(number, parsed)
        else:
            if shared is None:
                shared = whole.copy()  # every line so far was of no group
            chunks.group(group, shared).effect.take(number, parsed)
        whole.take(number, parsed)
    seg = whole.segment(line_count)
    if shared is None:
        return seg
    return replace(
        seg,
        shared=shared.segment(),
        groups=tuple((name, own.effect.segment()) for name, own in chunks.groups().items()),
    )


class _Behind:
    """A group's effect, and how many chunks of lines of no group it has taken."""

    __slots__ = ("effect", "taken")

    def __init__(self, effect: _Effect, taken: int) -> None:
        self.effect = effect
        self.taken = taken


EAGER_GROUPS: Final = 8
"""Up to this many groups, a line of no group is taken by each group at once (cheaper than
summaries while groups are few: esper-lite's A/B); beyond, chunks are summarised (_Chunks)."""
CHUNKS_KEPT: Final = 4096
"""Chunks kept for the groups behind (or as many as there are groups, if more): then every
group is brought up to date and the chunks are let go, so the memory of a fold stays
bounded, and each such catching up is paid for by as many chunks."""


class _Chunks:
    """The lines of no group met since the first line of a group, for the groups.

    They are cut into chunks where a line of a group falls, each summarised once, and kept
    as aligned blocks of 1, 2, 4, ... chunks (block ``j`` of level ``k`` covers chunks
    ``j * 2**k`` up to ``(j + 1) * 2**k``): the chunks a group missed are taken in at most
    two blocks per level, a few summaries rather than one application per line.
    """

    def __init__(self, history_len: int, recent_len: int) -> None:
        self._history_len = history_len
        self._recent_len = recent_len
        self._open = _Effect(history_len, recent_len)
        self._levels: list[list[Segment]] = [[]]
        self._groups: dict[str, _Behind] = {}
        self._eager = True
        """At most EAGER_GROUPS groups met: each takes the lines of no group at once."""

    def take(self, number: int, parsed: Record | BadLine) -> None:
        """A line of no group: every group's."""
        if self._eager:
            for own in self._groups.values():
                own.effect.take(number, parsed)
        else:
            self._open.take(number, parsed)

    def group(self, name: str, shared: _Effect) -> _Behind:
        """The group ``name``, up to date: met now, it starts from ``shared`` (the lines of
        no group so far)."""
        self._close()
        own = self._groups.get(name)
        if own is None:
            own = self._groups[name] = _Behind(shared.copy(), len(self._levels[0]))
            # Every group is up to date while eager: from here on, chunks are summarised.
            self._eager = self._eager and len(self._groups) <= EAGER_GROUPS
        else:
            self._bring(own)
        return own

    def groups(self) -> dict[str, _Behind]:
        """Every group met, in order of first appearance, up to date."""
        self._close()
        for own in self._groups.values():
            self._bring(own)
        return self._groups

    def _close(self) -> None:
        """Ends the open chunk (a line of a group falls here)."""
        if not self._open.touched:
            return
        if len(self._levels[0]) >= max(CHUNKS_KEPT, len(self._groups)):
            for own in self._groups.values():
                self._bring(own)
                own.taken = 0
            self._levels = [[]]
        self._push(self._open.segment())
        self._open = _Effect(self._history_len, self._recent_len)

    def _bring(self, own: _Behind) -> None:
        """Takes into a group the chunks it has not taken yet, block by block."""
        start, end = own.taken, len(self._levels[0])
        blocks: list[Segment] = []
        while start < end:
            level = 0
            while start % (2 << level) == 0 and start + (2 << level) <= end:
                level += 1
            blocks.append(self._levels[level][start >> level])
            start += 1 << level
        for seg, kept in zip(blocks, self._kept(blocks), strict=True):
            own.effect.absorb(seg, kept)
        own.taken = end

    def _kept(self, blocks: list[Segment]) -> list[bool]:
        """For each block, whether any of its value records outlives the blocks after it
        (which restart the run or bring enough of their own to push them out)."""
        kept: list[bool] = []
        history = recent = 0
        for seg in reversed(blocks):
            kept.append(history < self._history_len or recent < self._recent_len)
            if seg.restarted:
                history, recent = self._history_len, self._recent_len
            history += len(seg.history)
            recent += len(seg.recent)
        kept.reverse()
        return kept

    def _push(self, seg: Segment) -> None:
        """Appends a chunk, and the blocks it completes."""
        self._levels[0].append(seg)
        level, count = 0, len(self._levels[0])
        while count % 2 == 0:
            if level + 1 == len(self._levels):
                self._levels.append([])
            below = self._levels[level]
            self._levels[level + 1].append(self._joined(below[-2], below[-1]))
            level, count = level + 1, count // 2

    def _joined(self, first: Segment, then: Segment) -> Segment:
        """One summary of two consecutive runs of lines of no group."""
        effect = _Effect(self._history_len, self._recent_len)
        for seg, kept in zip((first, then), self._kept([first, then]), strict=True):
            effect.absorb(seg, kept)
        return effect.segment()


def apply(state: FoldState, seg: Segment, now: float, line_offset: int = 0) -> FoldState:
    """The state after a segment whose line numbers start after ``line_offset`` lines.

    Every line counts, of whatever group: this is the state of the file as one run.
    """
    if not seg.records and not seg.bad_lines:
        return state
    last_error = state.last_error
    if seg.last_error is not None:
        number, reason = seg.last_error
        last_error = f"line {number + line_offset}: {reason}"
    history = seg.history if seg.restarted else state.history + seg.history
    recent = seg.recent if seg.restarted else state.recent + _filled(seg.recent, state.values)
    values, values_at = _values(state, seg)
    return FoldState(
        values=values,
        values_at=values_at,
        mean_abs_td=state.mean_abs_td if seg.values is KEEP else seg.mean_abs_td,
        critic=state.critic if seg.critic is KEEP else seg.critic,
        fit=state.fit if seg.fit is KEEP else seg.fit,
        step=state.step if seg.step is KEEP else seg.step,
        updates=seg.updates if seg.restarted else state.updates + seg.updates,
        recent=recent[-state.recent_len :] if state.recent_len else (),
        recent_len=state.recent_len,
        writer=seg.writer if seg.restarted else state.writer,
        rules=seg.rules if seg.restarted else state.rules,
        compile=seg.compile or state.compile,
        records=state.records + seg.records,
        bad_lines=state.bad_lines + seg.bad_lines,
        last_error=last_error,
        last_update=now if seg.records else state.last_update,
        history=history[-state.history_len :] if state.history_len else (),
        history_len=state.history_len,
        critic_moved=seg.moved if seg.restarted else max(state.critic_moved, seg.moved),
    )


def _values(state: FoldState, seg: Segment) -> tuple[Values | None, tuple[int | None, ...] | None]:
    """The nine, and when each was reported, after the segment."""
    if seg.values is KEEP:
        return state.values, state.values_at
    if seg.restarted or seg.values is None or seg.values_at is None:
        return seg.values, seg.values_at
    return merge(seg.values, state.values), shift(seg.values_at, state.updates, state.values_at)


def _filled(recent: tuple[Update, ...], before: Values | None) -> tuple[Update, ...]:
    """A segment's updates (of a run it did not restart), their metrics not reported in
    the segment yet taken from the state before it."""
    if before is None:
        return recent
    return tuple(_kept_update(u, before) for u in recent)


def fold(state: FoldState, lines: Iterable[Line], now: float) -> FoldState:
    """Applies numbered lines to a state, in order; bad lines are counted and change nothing.

    Every line counts, of whatever group: this is the state of the file as one run.
    """
    seg = summarize(lines, history_len=state.history_len, recent_len=state.recent_len)
    return apply(state, seg, now)


@dataclass(frozen=True, slots=True)
class FileState:
    """A file's runs: the file as one, or one per group once it has two groups or more.

    esper-lite's A/B and cohort modes write several runs into one file, each event
    naming its run in ``group_id``. A line of no group (``null``, ``""`` or
    ``"default"``) belongs to every run: a TRAINING_STARTED without a group restarts
    them all, and a bad line whose group cannot be told counts in each.

    Attributes:
        whole: every line folded as one run (what a file of at most one group shows).
        shared: the lines of no group only (where a group met later starts from).
        groups: each group met, in order of first appearance, with its state: its own
            lines and every line of no group.
        limits: what the file cannot give, when it is a trainer's own log read by a
            reader of ingest/foreign (None for value-diag's lines).
    """

    whole: FoldState
    shared: FoldState
    groups: tuple[tuple[str, FoldState], ...] = ()
    limits: SourceLimits | None = None

    @classmethod
    def empty(cls, history_len: int = 0, recent_len: int = 0) -> FileState:
        """The state of a file before any line."""
        state = FoldState(history_len=history_len, recent_len=recent_len)
        return cls(state, state)

    @property
    def runs(self) -> list[tuple[str | None, FoldState]]:
        """The runs to show, each with its group: (None, whole) for at most one group."""
        if len(self.groups) < 2:
            return [(None, self.whole)]
        return list(self.groups)

    def named(self, source: str) -> list[tuple[str, FoldState]]:
        """The runs to show, named ``source`` or, one per group, ``source#GROUP``
        (naming.run_name)."""
        return [(run_name(source, group), state) for group, state in self.runs]


def apply_file(state: FileState, seg: Segment, now: float, line_offset: int = 0) -> FileState:
    """The file's runs after a segment whose line numbers start after ``line_offset`` lines."""
    if not seg.records and not seg.bad_lines:
        return state
    shared_seg = seg if seg.shared is None else seg.shared
    met = dict(seg.groups)
    groups = [
        (name, apply(run, met.pop(name, shared_seg), now, line_offset))
        for name, run in state.groups
    ]
    # A group new to the file starts where the lines of no group had brought it; its
    # segment holds those of the segment before its first line.
    groups += [(name, apply(state.shared, s, now, line_offset)) for name, s in met.items()]
    return FileState(
        whole=apply(state.whole, seg, now, line_offset),
        shared=apply(state.shared, shared_seg, now, line_offset),
        groups=tuple(groups),
        limits=state.limits,
    )


def fold_file(state: FileState, lines: Iterable[Line], now: float) -> FileState:
    """Applies numbered lines to a file's runs, in order."""
    whole = state.whole
    seg = summarize(lines, history_len=whole.history_len, recent_len=whole.recent_len)
    return apply_file(state, seg, now)
