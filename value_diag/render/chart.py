"""A metric's history as a line chart in terminal cells: braille dots, or ASCII. Pure.

``draw`` lays one chart into exactly ``height`` lines of at most ``width`` cells each, so
a chart never spills out of the box it is given: a title line (with a legend when several
runs share the chart), the plot with its y ticks on the left, an axis line on which the
points where the run's level changed are marked, and the x ticks (first and last step).

What is drawn is what the run logged, never more: an update that did not report the
metric leaves a gap in the line (never a zero); a NaN or an infinity is a red cross at
the edge it went to, so a run going NaN is visible where it happened. A threshold is a
dashed line at its value, coloured by the level it starts, and the rows beyond it are
tinted with that level (the band), so a value is seen crossing into yellow or red. A
threshold far outside the values (a Bellman critical of 1000 beside errors of 0.01) is
not allowed to squash the line flat: it is named on the title line with an arrow instead.

Why drawn here and not by a chart library: see docs/charts.md (plotext and uniplot were
tried on the same charts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from rich.text import Text

from value_diag.render.words import format_number

LevelName = Literal["ok", "info", "warning", "critical"]
Side = Literal["above", "below"]

LINE_STYLES: Final[dict[str, str]] = {"critical": "red", "warning": "yellow", "ok": "green"}
"""The colour of a threshold's line and of a level-change mark, by the level it starts."""
BAND_STYLES: Final[dict[str, str]] = {"critical": "on #3a0d0d", "warning": "on #33300a"}
"""The tint of the rows past a threshold (dark enough that every line colour reads on it)."""
BAD: Final = "red bold"
"""A NaN or infinite value's cross."""
TRACE_STYLES: Final = ("bright_white", "cyan", "magenta", "bright_blue", "green", "yellow")
"""One colour per run when several share a chart, in legend order (then round again)."""
MIN_WIDTH: Final = 24
MIN_HEIGHT: Final = 6
"""The smallest box a chart is drawn in: below it, one line says what it needs."""
FAR: Final = 1.0
"""A threshold further from the values than FAR times their range is named, not drawn."""
BRAILLE_BASE: Final = 0x2800
BRAILLE_BITS: Final = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""The dot of each (row, column) in a braille cell of 4 rows and 2 columns."""


@dataclass(frozen=True, slots=True)
class Trace:
    """One run's points on a chart: y None where the update did not report the metric."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]


@dataclass(frozen=True, slots=True)
class Threshold:
    """At ``y``, the ``side`` of it is ``level`` (ok: where "excellent" starts)."""

    y: float
    level: LevelName
    side: Side


@dataclass(frozen=True, slots=True)
class Change:
    """The run's level changed at update x to ``level``: marked on the axis."""

    x: float
    level: LevelName


@dataclass(frozen=True, slots=True)
class Glyphs:
    """The characters a chart is drawn with."""

    axis: str
    tick: str
    corner: str
    dash: str
    change: str
    bad: str
    arrow_up: str
    arrow_down: str
    braille: bool


UNICODE: Final = Glyphs("│", "┤", "└", "┄", "▲", "×", "↑", "↓", True)
ASCII: Final = Glyphs("|", "+", "+", "-", "^", "x", "^", "v", False)


def smooth(ys: Sequence[float | None], weight: float) -> list[float | None]:
    """TensorBoard's smoothing: an exponential moving average, debiased at the start.

    ``weight`` 0 leaves the values as they are; 0.99 follows only the long trend. A
    missing value stays missing and a non-finite one stays as it is (never averaged into
    a number); the average goes on over them.
    """
    out: list[float | None] = []
    last = 0.0
    n = 0
    for y in ys:
        if y is None or not math.isfinite(y):
            out.append(y)
            continue
        last = last * weight + (1 - weight) * y
        n += 1
        out.append(last / (1 - weight**n) if weight > 0 else last)
    return out


def draw(
    title: str,
    traces: Sequence[Trace],
    thresholds: Sequence[Threshold] = (),
    changes: Sequence[Change] = (),
    width: int = 80,
    height: int = 16,
    glyphs: Glyphs = UNICODE,
    x_label: str = "step",
) -> list[Text]:
    """The chart as ``height`` lines, none wider than ``width`` cells (see the module)."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        need = f"{title}: a chart needs {MIN_WIDTH}x{MIN_HEIGHT} cells"
        return [Text(need[: max(width, 0)], no_wrap=True)] + [Text() for _ in range(height - 1)]
    finite = [y for t in traces for y in t.ys if y is not None and math.isfinite(y)]
    xs = [x for t in traces for x in t.xs]
    lo, hi = _y_range(finite, thresholds)
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    drawn = [t for t in thresholds if lo <= t.y <= hi]
    far = [t for t in thresholds if not lo <= t.y <= hi]
    rows = height - 3
    labels = _y_labels(lo, hi, rows, drawn)
    label_w = max((len(s) for s in labels.values()), default=1)
    plot_w = width - label_w - 1
    grid = _Grid(plot_w, rows, glyphs.braille, lo, hi, x0, x1)
    for i, trace in enumerate(traces):
        grid.trace(trace, i)
    lines = [_title(title, traces, far, width, glyphs)]
    for row in range(rows):
        line = Text(no_wrap=True)
        line.append(labels.get(row, "").rjust(label_w))
        line.append(glyphs.tick if row in labels else glyphs.axis, "dim")
        line.append_text(_row(grid, row, drawn, glyphs))
        lines.append(line)
    lines.append(_axis(grid, changes, label_w, glyphs))
    lines.append(_x_ticks(x0, x1, label_w, plot_w, x_label, bool(xs)))
    return lines


def _y_range(finite: Sequence[float], thresholds: Sequence[Threshold]) -> tuple[float, float]:
    """The y range: the values', widened to the thresholds near them, never empty."""
    if not finite:
        ys = [t.y for t in thresholds if math.isfinite(t.y)]
        lo, hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
    else:
        lo, hi = min(finite), max(finite)
        reach = max(hi - lo, abs(hi), abs(lo), 1e-300) * FAR
        for t in thresholds:
            if math.isfinite(t.y) and lo - reach <= t.y <= hi + reach:
                lo, hi = min(lo, t.y), max(hi, t.y)
    if hi - lo <= abs(hi) * 1e-12:
        pad = abs(hi) * 0.5 if hi else 1.0
        lo, hi = _finite_or(lo - pad, lo), _finite_or(hi + pad, hi)
    if hi / 2 - lo / 2 == 0:  # a value too small to pad by half of itself
        lo, hi = lo - 1, hi + 1
    return lo, hi


def _finite_or(x: float, fallback: float) -> float:
    return x if math.isfinite(x) else fallback


def _down(y: float, lo: float, hi: float) -> float:
    """How far down the range ``y`` is: 0 at ``hi``, 1 at ``lo`` (halved first, so a
    range as wide as the floats themselves does not overflow)."""
    return (hi / 2 - y / 2) / (hi / 2 - lo / 2)


def _row_of(y: float, lo: float, hi: float, rows: int) -> int:
    """The text row of a value (0: the top row)."""
    return min(rows - 1, max(0, round(_down(y, lo, hi) * (rows - 1))))


def _y_labels(lo: float, hi: float, rows: int, drawn: Sequence[Threshold]) -> dict[int, str]:
    """Tick labels by row: the top and bottom of the range, then each threshold drawn
    where it does not touch a label already placed."""
    labels = {0: format_number(hi), rows - 1: format_number(lo)}
    for t in drawn:
        row = _row_of(t.y, lo, hi, rows)
        if all(abs(row - r) > 1 for r in labels):
            labels[row] = format_number(t.y)
    return labels


class _Grid:
    """The plot's dots: per cell, the dots set and the trace that set one last."""

    def __init__(
        self, w: int, rows: int, braille: bool, lo: float, hi: float, x0: float, x1: float
    ) -> None:
        self.w, self.rows, self.braille = w, rows, braille
        self.sub_x, self.sub_y = (2, 4) if braille else (1, 1)
        self.lo, self.hi, self.x0, self.x1 = lo, hi, x0, x1
        self.dots: dict[tuple[int, int], int] = {}
        self.owner: dict[tuple[int, int], int] = {}
        self.bad: dict[int, int] = {}  # column -> row of a NaN or infinity's cross

    def _dot_x(self, x: float) -> int:
        cols = self.w * self.sub_x
        if self.x1 == self.x0:
            return cols // 2
        return round((x / 2 - self.x0 / 2) / (self.x1 / 2 - self.x0 / 2) * (cols - 1))

    def _dot_y(self, y: float) -> int:
        dots = self.rows * self.sub_y
        return min(dots - 1, max(0, round(_down(y, self.lo, self.hi) * (dots - 1))))

    def _set(self, dx: int, dy: int, trace: int) -> None:
        cell = (dx // self.sub_x, dy // self.sub_y)
        bit = BRAILLE_BITS[dy % 4][dx % 2] if self.braille else 1
        self.dots[cell] = self.dots.get(cell, 0) | bit
        self.owner[cell] = trace

    def trace(self, trace: Trace, index: int) -> None:
        """Set the dots of one trace: a line through its points, broken where one is
        missing or not finite; a non-finite value is a cross at the edge it went to."""
        last: tuple[int, int] | None = None
        for x, y in zip(trace.xs, trace.ys, strict=False):
            if y is None:
                last = None
                continue
            dx = self._dot_x(x)
            if not math.isfinite(y):
                self.bad[dx // self.sub_x] = self.rows - 1 if y < 0 else 0
                last = None
                continue
            dy = self._dot_y(y)
            if last is None:
                self._set(dx, dy, index)
            else:
                for px, py in _segment(last, (dx, dy)):
                    self._set(px, py, index)
            last = (dx, dy)

    def cell(self, col: int, row: int) -> tuple[str, int] | None:
        """The character of a cell with dots, and the trace that drew it last."""
        bits = self.dots.get((col, row))
        if bits is None:
            return None
        char = chr(BRAILLE_BASE + bits) if self.braille else "*"
        return char, self.owner[(col, row)]


def _segment(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """The dots of a straight line from a to b, both ends included (Bresenham)."""
    (x, y), (x1, y1) = a, b
    dx, dy = abs(x1 - x), -abs(y1 - y)
    sx, sy = (1 if x < x1 else -1), (1 if y < y1 else -1)
    err = dx + dy
    out = [(x, y)]
    while (x, y) != (x1, y1):
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x += sx
        if e2 <= dx:
            err += dx
            y += sy
        out.append((x, y))
    return out


def _band(y: float, drawn: Sequence[Threshold]) -> str:
    """The worst level a value at ``y`` is in under the thresholds drawn ("" if none)."""
    worst = ""
    for t in drawn:
        inside = y >= t.y if t.side == "above" else y < t.y
        if inside and t.level == "critical":
            return "critical"
        if inside and t.level == "warning":
            worst = "warning"
    return worst


def _row(grid: _Grid, row: int, drawn: Sequence[Threshold], glyphs: Glyphs) -> Text:
    """One plot row: the dots, the dashes of a threshold on this row, the band's tint."""
    down = row / max(grid.rows - 1, 1)
    centre = grid.hi * (1 - down) + grid.lo * down
    tint = BAND_STYLES.get(_band(centre, drawn), "")
    on_row = [t for t in drawn if _row_of(t.y, grid.lo, grid.hi, grid.rows) == row]
    dash_style = LINE_STYLES.get(on_row[0].level, "dim") if on_row else ""
    cells: list[tuple[str, str]] = []
    for col in range(grid.w):
        if grid.bad.get(col) == row:
            cells.append((glyphs.bad, _with(BAD, tint)))
            continue
        cell = grid.cell(col, row)
        if cell is not None:
            char, owner = cell
            cells.append((char, _with(TRACE_STYLES[owner % len(TRACE_STYLES)], tint)))
        elif on_row:
            cells.append((glyphs.dash, _with(dash_style, tint)))
        else:
            cells.append((" ", tint))
    return _joined(cells)


def _joined(cells: list[tuple[str, str]]) -> Text:
    """Cells as one Text, a span per run of one style (not one per cell: a chart row
    stays a few escape sequences long on the terminal)."""
    out = Text(no_wrap=True)
    i = 0
    while i < len(cells):
        style = cells[i][1]
        j = i
        while j < len(cells) and cells[j][1] == style:
            j += 1
        out.append("".join(c for c, _ in cells[i:j]), style)
        i = j
    return out


def _with(style: str, tint: str) -> str:
    return f"{style} {tint}".strip()


def _title(
    title: str, traces: Sequence[Trace], far: Sequence[Threshold], width: int, glyphs: Glyphs
) -> Text:
    """The chart's title, the legend when several runs share it, and thresholds too far
    from the values to draw (with the way to them)."""
    out = Text(title, style="bold", no_wrap=True)
    if len(traces) > 1:
        for i, trace in enumerate(traces):
            out.append("  ")
            out.append("━━" if glyphs.braille else "--", TRACE_STYLES[i % len(TRACE_STYLES)])
            out.append(" " + trace.label)
    for t in far:
        arrow = glyphs.arrow_up if t.y > 0 else glyphs.arrow_down
        out.append(f"  {arrow} {t.level} {format_number(t.y)}", LINE_STYLES.get(t.level, "dim"))
    out.truncate(width, overflow="ellipsis" if glyphs.braille else "crop")
    return out


def _axis(grid: _Grid, changes: Sequence[Change], label_w: int, glyphs: Glyphs) -> Text:
    """The x axis, with a mark under each point where the run's level changed."""
    marks: dict[int, str] = {}
    for change in changes:
        marks[grid._dot_x(change.x) // grid.sub_x] = change.level
    cells = [(" " * label_w, ""), (glyphs.corner, "dim")]
    for col in range(grid.w):
        level = marks.get(col)
        if level is None:
            cells.append(("─" if glyphs.braille else "-", "dim"))
        else:
            cells.append((glyphs.change, LINE_STYLES.get(level, "dim")))
    return _joined(cells)


def _x_ticks(x0: float, x1: float, label_w: int, plot_w: int, x_label: str, any_x: bool) -> Text:
    """The first and last x under the axis's ends, and what x is between them."""
    if not any_x:
        return Text(" " * (label_w + 1) + "no points", style="dim", no_wrap=True)
    left, right = format_number(x0), format_number(x1)
    middle = plot_w - len(left) - len(right)
    name = x_label.center(middle) if middle >= len(x_label) + 2 else " " * max(middle, 1)
    line = " " * (label_w + 1) + left + name + (right if x1 != x0 else "")
    return Text(line[: label_w + 1 + plot_w], style="dim", no_wrap=True)
