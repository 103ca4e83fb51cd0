"""Runs' histories as terminal charts: what `once --chart` prints and the live view's
detail shows. Pure: frames in, lines of text out.

A chart's points are the run's series (render/series.py), the same points the page and
the JSON frame's history carry, and its thresholds are the guide of the rules that judged
the run (render/guides.py), so a chart's lines are where the panel turns yellow or red.
Several runs on one chart are the way a sweep is read: one colour each, and thresholds
drawn only when every run was judged by the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from rich.text import Text

from value_diag.frame import Frame
from value_diag.health import Level
from value_diag.render.chart import (
    ASCII,
    UNICODE,
    Change,
    Glyphs,
    LevelName,
    Threshold,
    Trace,
    draw,
    smooth,
)
from value_diag.render.guides import CHARTS, Chart, guide
from value_diag.render.sanitize import clean_name
from value_diag.render.series import Series, series_of

CHART_HEIGHT: Final = 16
"""Lines a printed chart takes (`once --chart`): its plot is 13 rows high."""
CHANGES: Final[dict[Level, LevelName]] = {
    Level.OK: "ok",
    Level.WARNING: "warning",
    Level.CRITICAL: "critical",
}
"""Levels whose start is marked on a chart's axis (info and no data are not a change)."""


@dataclass(frozen=True, slots=True)
class Charted:
    """One run to chart: its name as the table shows it, its frame and its points."""

    name: str
    frame: Frame
    series: Series


ASCII_WORDS: Final = (("σ", "sigma"), ("²", "^2"), ("≥", ">="), ("≤", "<="))
"""How a chart's own words are written under --ascii (as the panel writes "Ret sigma")."""


def _words(text: str, ascii_only: bool) -> str:
    if not ascii_only:
        return text
    for wide, narrow in ASCII_WORDS:
        text = text.replace(wide, narrow)
    return text.encode("ascii", "replace").decode("ascii")


class UnknownMetric(ValueError):
    """A metric name no chart has; the message lists those that have one."""


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


ALL: Final = "all"
"""The name that asks for every chart."""


def chart_named(name: str) -> Chart | None:
    """The chart ``name`` stands for (its key or label, in any case, with or without
    punctuation: "v_return_correlation", "V-Corr", "vcorr"), if any."""
    key = _squash(name)
    for chart in CHARTS:
        if key in (_squash(chart.key), _squash(chart.label)):
            return chart
    return None


def names_a_chart(word: str) -> bool:
    """Whether ``word`` asks for a chart: ALL, or the name of one."""
    return word.lower() == ALL or chart_named(word) is not None


def check_name(name: str) -> None:
    """Raises UnknownMetric unless ``name`` asks for a chart (see names_a_chart)."""
    if not names_a_chart(name):
        names = ", ".join(c.key for c in CHARTS)
        raise UnknownMetric(f"no chart is called {name!r}; the charts: {ALL}, {names}")


def charts_of(runs: Sequence[Charted], wanted: str = ALL) -> list[Chart]:
    """The charts to draw: the one ``wanted`` names, or (ALL) every chart some run has a
    point for, in panel order. Raises UnknownMetric for a name no chart has."""
    check_name(wanted)
    chart = chart_named(wanted)
    if chart is not None:
        return [chart]
    return [c for c in CHARTS if any(c.key in r.series.values for r in runs)]


def charted(frames: Sequence[Frame], ascii_only: bool) -> list[Charted]:
    """Frames (read with their history: options.CHART_UPDATES) as runs to chart, each
    named as the table names it."""
    return [Charted(clean_name(f.name, ascii_only), f, series_of(f)) for f in frames]


def draw_charts(
    runs: Sequence[Charted],
    wanted: str,
    width: int,
    height: int,
    ascii_only: bool,
    smoothing: float = 0.0,
) -> list[list[Text]]:
    """The charts ``wanted`` asks for (see charts_of), each of every run that has points
    for it. Raises UnknownMetric for a name no chart has."""
    glyphs = ASCII if ascii_only else UNICODE
    out = []
    for chart in charts_of(runs, wanted):
        having = [r for r in runs if chart.key in r.series.values]
        if not having:
            out.append([Text(f"{chart.label}: no run logged it", style="dim")])
            continue
        out.append(draw_chart(chart, having, width, height, glyphs, smoothing))
    return out


def draw_chart(
    chart: Chart,
    runs: Sequence[Charted],
    width: int,
    height: int,
    glyphs: Glyphs,
    smoothing: float = 0.0,
) -> list[Text]:
    """One chart of ``runs`` in exactly ``height`` lines of at most ``width`` cells: the
    chart, and under it what a reader must know of its thresholds (the guide's note)."""
    by_steps = all(r.series.steps is not None for r in runs if r.series.kept)
    traces = []
    for run in runs:
        ys = run.series.values.get(chart.key)
        if ys is None:
            continue
        xs = run.series.steps if by_steps and run.series.steps is not None else run.series.numbers
        shown = smooth(ys, smoothing) if smoothing else list(ys)
        traces.append(Trace(run.name, [float(x) for x in xs], shown))
    rules = {run.frame.rules for run in runs}
    note: str | None
    if len(rules) == 1:
        g = guide(chart.key, next(iter(rules)))
        lines = [Threshold(x.y, x.level, x.side) for x in g.lines if x.level != "info"]
        note = g.note
    else:
        lines, note = [], "the runs were judged by different rules: no thresholds drawn"
    changes = _changes(runs[0], chart.key, by_steps) if len(traces) == 1 else []
    ascii_only = glyphs is ASCII
    sep = " | " if ascii_only else " · "
    title = _words(f"{chart.label}{sep}{chart.about}", ascii_only)
    if smoothing:
        title += f"{sep}smoothed {smoothing:g}"
    body_h = height - 1 if note and height > 1 else height
    x_label = "step" if by_steps else "update"
    out = draw(title, traces, lines, changes, width, body_h, glyphs, x_label)
    if body_h < height and note is not None:
        out.append(Text(_words(note, ascii_only), style="dim", no_wrap=True))
        out[-1].truncate(width, overflow="crop" if ascii_only else "ellipsis")
    return out


def _changes(run: Charted, key: str, by_steps: bool) -> list[Change]:
    """Where the metric's level changed, against the point before it that was judged."""
    levels = run.series.levels.get(key, ())
    xs = run.series.steps if by_steps and run.series.steps is not None else run.series.numbers
    out: list[Change] = []
    last: Level | None = None
    for x, level in zip(xs, levels, strict=False):
        if level not in CHANGES:
            continue
        if last is not None and level is not last:
            out.append(Change(float(x), CHANGES[level]))
        last = level
    return out
