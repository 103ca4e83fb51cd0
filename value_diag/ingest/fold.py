"""Parsed lines -> the latest state of the run and honest counters. Pure: the clock is passed in."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Final

from value_diag.ingest.lines import Line
from value_diag.ingest.parse import BadLine, parse
from value_diag.state import Compile, FoldState


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
        values: the nine metrics the segment leaves, None if a new run cleared them,
            KEEP if no line touched them.
        compile: the newest compile status in the segment, None if none.
        lines: complete lines in the segment (to number the lines of the next one).
        history: the segment's newest value records (up to the length asked for),
            after its last new run.
        restarted: the segment holds a new run, so the history before it is over.
    """

    records: int = 0
    bad_lines: int = 0
    last_error: tuple[int, str] | None = None
    values: tuple[float, ...] | Keep | None = KEEP
    compile: Compile | None = None
    lines: int = 0
    history: tuple[tuple[float, ...], ...] = ()
    restarted: bool = False


def summarize(lines: Iterable[Line], line_count: int = 0, history_len: int = 0) -> Segment:
    """The effect of numbered lines, in order; bad lines are counted and change nothing.

    The newest ``history_len`` value records are kept for trends.
    """
    values: tuple[float, ...] | Keep | None = KEEP
    compile_: Compile | None = None
    records = bad = 0
    last_error: tuple[int, str] | None = None
    history: deque[tuple[float, ...]] = deque(maxlen=history_len)
    restarted = False
    for number, line in lines:
        parsed = parse(line) if isinstance(line, bytes) else line
        if parsed is None:
            continue
        if isinstance(parsed, BadLine):
            bad += 1
            last_error = (number, parsed.reason)
            continue
        records += 1
        if parsed.new_run:
            values = None
            history.clear()
            restarted = True
        if parsed.values is not None:
            values = parsed.values
            if history_len:
                history.append(values)
        if parsed.compile is not None:
            compile_ = parsed.compile
    return Segment(
        records, bad, last_error, values, compile_, line_count, tuple(history), restarted
    )


def apply(state: FoldState, seg: Segment, now: float, line_offset: int = 0) -> FoldState:
    """The state after a segment whose line numbers start after ``line_offset`` lines."""
    if not seg.records and not seg.bad_lines:
        return state
    last_error = state.last_error
    if seg.last_error is not None:
        number, reason = seg.last_error
        last_error = f"line {number + line_offset}: {reason}"
    history = seg.history if seg.restarted else state.history + seg.history
    return FoldState(
        values=state.values if seg.values is KEEP else seg.values,
        compile=seg.compile or state.compile,
        records=state.records + seg.records,
        bad_lines=state.bad_lines + seg.bad_lines,
        last_error=last_error,
        last_update=now if seg.records else state.last_update,
        history=history[-state.history_len :] if state.history_len else (),
        history_len=state.history_len,
    )


def fold(state: FoldState, lines: Iterable[Line], now: float) -> FoldState:
    """Applies numbered lines to a state, in order; bad lines are counted and change nothing."""
    return apply(state, summarize(lines, history_len=state.history_len), now)
