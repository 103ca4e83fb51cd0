"""A run's history as chart series: each update the fold kept, judged as the panel was.

A point is what the panel showed right after that update (the nine as the run had
reported them by then, the critic's numbers and the values the rules derive, V-Fit and
the scale-free ratios among them), judged by the rules of the run's frame; its last
point is the frame itself. Past ``max_points`` updates, one in every ``stride`` is kept,
the newest always: the page says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Final

from value_diag import health
from value_diag.frame import Frame
from value_diag.gate import earlier_frames
from value_diag.health import Health, Level
from value_diag.render.guides import CHARTS, Chart

MAX_POINTS: Final = 600
"""Points a run's chart keeps at most: a 64-run sweep stays a few MB, whatever its length."""
DERIVED: Final = frozenset({health.FIT, health.TD_BIAS, health.BELLMAN_RATIO})
"""Values the rules derive and put in Health.values only when they can be told."""
JUDGES: Final = {
    health.FIT: "v_return_correlation",
    health.TD_BIAS: "td_error_mean",
    health.BELLMAN_RATIO: "bellman_error",
}
"""The metric whose level a derived value's chart marks: the one that value judges."""


@dataclass(frozen=True, slots=True)
class Series:
    """One run's points.

    Attributes:
        numbers: the update number of each point (1: the run's first update).
        steps: the training step of each point, or None unless every update kept named
            one, each past the one before (a chart's x must grow).
        values: per chart key, a value per point (None: not reported then); charts no
            point has a value for are left out.
        updates: the run's value records (updates), all of them.
        kept: the updates the fold kept (the newest of them), that the points sample.
        stride: one point per ``stride`` of the updates kept (1: every one).
        levels: per chart key, the level its metric was judged at, per point.
    """

    numbers: tuple[int, ...] = ()
    steps: tuple[int, ...] | None = None
    values: dict[str, tuple[float | None, ...]] = field(default_factory=dict)
    updates: int = 0
    kept: int = 0
    stride: int = 1
    levels: dict[str, tuple[Level, ...]] = field(default_factory=dict)


def series_of(frame: Frame, max_points: int = MAX_POINTS) -> Series:
    """The points of a frame's run from the updates its fold kept (FoldState.recent)."""
    st = frame.state
    recent = st.recent
    if not recent:
        return Series(updates=st.updates)
    stride = max(1, math.ceil(len(recent) / max_points))
    first = (len(recent) - 1) % stride  # the newest is always kept
    kept = recent[first::stride]
    sampled = Frame(frame.source, replace(st, recent=kept), frame.note, frame.thresholds, frame.at)
    judged = [f.health for f in reversed(earlier_frames(sampled, len(kept) - 1))]
    judged.append(frame.health)
    offset = st.updates - len(recent)  # updates before the first kept
    numbers = tuple(offset + first + 1 + i * stride for i in range(len(kept)))
    steps = tuple(u.step for u in kept)
    named = tuple(s for s in steps if s is not None)
    in_order = len(named) == len(steps) and all(a < b for a, b in pairwise(named))
    values: dict[str, tuple[float | None, ...]] = {}
    levels: dict[str, tuple[Level, ...]] = {}
    for chart in CHARTS:
        column = tuple(value(h, chart) for h in judged)
        if any(v is not None for v in column):
            values[chart.key] = column
            judged_by = JUDGES.get(chart.key, chart.key)
            levels[chart.key] = tuple(h.mark(judged_by).level for h in judged)
    return Series(
        numbers, named if in_order else None, values, st.updates, len(recent), stride, levels
    )


def value(h: Health, chart: Chart) -> float | None:
    """The value a chart draws for one judged update (None: not reported, or not told)."""
    if chart.key in DERIVED:
        x = h.values.get(chart.key)
    elif h.mark(chart.key).level is Level.NO_DATA:
        return None
    else:
        x = h.values.get(chart.key)
    if x is None or not chart.sigma:
        return x
    return math.sqrt(x) if x >= 0 else math.nan  # a negative variance: not a number
