"""--trend: sparklines that say what they show, drawn against their warning line, and where
they go (right of the panel's lines, under them, or nowhere, said so). Pure."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from rich.cells import cell_len

from value_diag import health
from value_diag.health import Level, Preset, Rules
from value_diag.render import styles
from value_diag.render.styled import StyledText

SPARK_UNICODE: Final = "▁▂▃▄▅▆▇█"
SPARK_ASCII: Final = "_.:-=+*#"
"""The ASCII ramp: its lowest level a visible "_", not a blank one could not tell from the
space around a sparkline (nor from the space that stands before its newest values)."""
SPARK_NONFINITE: Final = "!"
SPARK_STYLE: Final = "cyan"
BEYOND_STYLE: Final = styles.WARNING
"""A column on the alarming side of the warning line drawn: yellow, as the value would be."""
TREND_W: Final = 30
"""Sparkline width (characters) when the width is not known (a log, a pipe); on a screen a
sparkline takes the room there is. A longer history is averaged into this many buckets."""
MIN_TREND_W: Final = 8
"""Fewer cells than this for a sparkline under the panel's lines: it is left out, said so."""
MIN_RIGHT_W: Final = 20
"""Fewer cells than this right of the lines (and fewer than the history holds): the
sparklines go under them, where they have the panel's whole width."""
NUMBER_W: Final = 6
"""Characters a number of a trend's min-max or its warning line takes at most."""
RANGE_W: Final = 2 * NUMBER_W + 1
"""Characters a trend's "min–max" takes at most."""
LINE_W: Final = len("warn <") + NUMBER_W
"""Characters a trend's warning line ("warn <0.5", "warn ±5", "warn >10") takes at most;
one more in ASCII ("warn +-5")."""
LABEL_STYLE: Final = "dim"
TEXT_STYLE: Final = "dim"


@dataclass(frozen=True, slots=True)
class WarningLine:
    """Where a metric starts to warn, as the rules say: ``at`` the values the y-range of its
    sparkline must include (both +x and -x for a metric judged by its size), ``op`` how its
    text says on which side it warns ("<", ">", "±")."""

    at: tuple[float, ...]
    op: str
    judge: Callable[[float], Level]
    """The level the rules give a value (a sparkline column) of the metric."""


def warning_line(metric: str, rules: Rules) -> WarningLine | None:
    """The warning line of ``metric`` in the units its sparkline draws, when the rules judge
    it by a fixed number (None for information, and for the scale-free ratios, whose line
    moves with the returns' scale, unless a config set the metric's own thresholds)."""
    own = rules.preset is Preset.DEFAULT or metric in rules.explicit
    if metric == "v_return_correlation":
        return WarningLine((rules.corr_warning,), "<", lambda x: health.correlation(x, rules).level)
    if metric == "explained_variance":
        return WarningLine(
            (rules.ev_warning,), "<", lambda x: health.explained_variance(x, rules).level
        )
    if metric == "td_error_mean" and own:
        x = rules.td_mean_warning
        return WarningLine((-x, x), "±", lambda v: health.td_error_mean(v, rules).level)
    if metric == "return_variance" and own and rules.variance_warning >= 0:
        sigma = math.sqrt(rules.variance_warning)  # drawn as Ret sigma, a standard deviation
        return WarningLine((sigma,), ">", lambda s: health.return_variance(s * s, rules).level)
    return None


@dataclass(frozen=True, slots=True)
class Trend:
    """One sparkline: its metric's name, its values (oldest first), their min-max as text,
    and its warning line and how that is written (``line_text``), if it has one."""

    label: str
    points: tuple[float, ...]
    range_text: str
    line: WarningLine | None = None
    line_text: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """Where the sparklines go and how wide they are.

    ``where``: "right" of the panel's lines (at the trend column), "below" them (one line
    each, the panel's whole width), or "dropped" (not room for MIN_TREND_W cells: one dim
    line says so, and by how many columns). ``spark_w`` cells for each sparkline (the newest
    value at its right end), ``name_w`` for the names, ``range_w`` for the min-max texts.
    """

    where: Literal["right", "below", "dropped"]
    spark_w: int = 0
    name_w: int = 0
    range_w: int = 0
    missing: int = 0
    """Columns short of a sparkline of MIN_TREND_W cells, when dropped."""


def plan(
    trends: Sequence[Trend], width: int | None, column: int, capacity: int, ascii_only: bool
) -> Plan:
    """Right of the lines if a sparkline of MIN_RIGHT_W cells (or of the whole history) fits
    there, else under them if one of MIN_TREND_W cells does, else dropped.

    ``width``: the panel's columns (None: unknown, TREND_W cells on the right);
    ``column``: where the right-hand sparklines start; ``capacity``: the most values a
    sparkline will hold (the history kept).

    The widths depend on the screen and the history kept, never on the values, so a
    sparkline does not change width, nor its columns their buckets, from one frame to the
    next.
    """
    name_w = max(cell_len(t.label) for t in trends)
    lines = any(t.line is not None for t in trends)
    range_w = RANGE_W if lines else 0
    text_w = 1 + RANGE_W + (1 + LINE_W + ascii_only if lines else 0)
    most = max(capacity, *(len(t.points) for t in trends), 1)
    if width is None:
        return Plan("right", min(TREND_W, most), name_w, range_w)
    right = width - column - name_w - 1 - text_w
    if right >= min(MIN_RIGHT_W, most):
        return Plan("right", min(right, most), name_w, range_w)
    below = width - name_w - 1 - text_w
    if below >= MIN_TREND_W:
        return Plan("below", min(below, most), name_w, range_w)
    return Plan("dropped", missing=MIN_TREND_W - below)


def trend_text(trend: Trend, layout: Plan, ascii_only: bool) -> StyledText:
    """One sparkline with its name, its min-max and its warning line, in ``layout``'s widths:
    "V-Corr ▆▇█▇█ 0.8..0.86 warn <0.5" (with an en dash in Unicode)."""
    out = StyledText()
    out.append(trend.label + " " * (layout.name_w - cell_len(trend.label)), LABEL_STYLE)
    out.append(" ")
    line = trend.line
    spark = sparkline(
        trend.points,
        layout.spark_w,
        ascii_only,
        include=() if line is None else line.at,
        beyond=None if line is None else (lambda x: line.judge(x) in health.ALARMS),
    )
    out.append(" " * (layout.spark_w - len(spark)))  # the newest value at the right end
    for glyph, style in spark:
        out.append(glyph, style)
    out.append(" ")
    out.append(trend.range_text.ljust(layout.range_w))
    if trend.line_text:
        out.append(" ")
        out.append(trend.line_text, TEXT_STYLE)
    return out


def dropped_text(layout: Plan) -> StyledText:
    """The one dim line said instead of sparklines there is no room for."""
    return StyledText(f"trends: {layout.missing} more columns needed", TEXT_STYLE)


def sparkline(
    values: Sequence[float],
    width: int,
    ascii_only: bool = False,
    *,
    include: Sequence[float] = (),
    beyond: Callable[[float], bool] | None = None,
) -> list[tuple[str, str]]:
    """(glyph, style) per column: the values scaled between their min and max, stretched to
    take in ``include`` too (the warning line, so that a wobble far from it looks small).

    More values than ``width`` are averaged in equal buckets; a bucket holding a NaN or an
    infinity is a red "!", so a run going NaN shows in the trend too. A column ``beyond``
    its warning line is yellow.
    """
    if not values:
        return []
    buckets = max(1, min(width, len(values)))
    columns: list[float] = []
    for k in range(buckets):
        part = values[k * len(values) // buckets : (k + 1) * len(values) // buckets]
        finite = all(math.isfinite(x) for x in part)
        mean = sum(part) / len(part) if finite else math.nan
        if finite and not math.isfinite(mean):  # huge values: the sum overflowed
            mean = sum(x / len(part) for x in part)
        columns.append(mean)
    finite_columns = [c for c in columns if math.isfinite(c)]
    axis = finite_columns + [x for x in include if math.isfinite(x)] if finite_columns else []
    lo, hi = (min(axis), max(axis)) if axis else (0.0, 0.0)
    ramp = SPARK_ASCII if ascii_only else SPARK_UNICODE
    out: list[tuple[str, str]] = []
    for c in columns:
        if not math.isfinite(c):
            out.append((SPARK_NONFINITE, styles.CRITICAL))
            continue
        level = (len(ramp) - 1) // 2 if hi == lo else round(_scaled(c, lo, hi) * (len(ramp) - 1))
        style = BEYOND_STYLE if beyond is not None and beyond(c) else SPARK_STYLE
        out.append((ramp[level], style))
    return out


def _scaled(x: float, lo: float, hi: float) -> float:
    """Where x lies between lo < hi, from 0 to 1, also when hi - lo overflows."""
    span = hi - lo
    if math.isfinite(span):
        return (x - lo) / span
    return (x / 2 - lo / 2) / (hi / 2 - lo / 2)
