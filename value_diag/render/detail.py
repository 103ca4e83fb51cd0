"""The charts of a run's detail in the live view, laid out in the room left under its
panel: one chart as large as the room allows, or every chart as small multiples. Pure.

What is drawn is chosen by a ChartView (which chart, all of them, the smoothing, the runs
on it), which the live view changes with keys; the points are the runs' series, read
again from their files when the detail opens (render/series.py), so a chart here holds
the same points as `once --chart` and the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rich.text import Text

from value_diag.render.chart import ASCII, TRACE_STYLES, UNICODE
from value_diag.render.chartview import Charted, charts_of, draw_chart
from value_diag.render.guides import Chart
from value_diag.render.picked import ChartView

CELL_W: Final = 40
CELL_H: Final = 10
"""The smallest chart of the small multiples: its width and height in cells."""
GAP: Final = 1
"""Columns between two charts side by side."""
MAX_OVERLAY: Final = len(TRACE_STYLES)
"""Runs on one chart at most (the opened one and the next in the table): one colour each."""
MIN_CHART_H: Final = 6
"""Lines a chart needs at least; with fewer left under the panel, the charts say so."""


def charts_area(
    view: ChartView,
    opened: Charted,
    others: Sequence[Charted],
    width: int,
    height: int,
    ascii_only: bool,
) -> list[Text]:
    """The charts ``view`` asks for, in at most ``height`` lines of at most ``width``
    cells: of ``opened`` alone, or (overlay) of it and ``others``."""
    if height <= 0 or width <= 0:
        return []
    runs = [opened, *others] if view.overlay else [opened]
    charts = charts_of(runs)
    if not charts:
        return [Text("no metric logged yet: nothing to chart", "dim")]
    if height < MIN_CHART_H:
        return [_cut(Text(f"charts need {MIN_CHART_H} lines under the panel", "dim"), width)]
    glyphs = ASCII if ascii_only else UNICODE
    if not view.every:
        chart = charts[view.chart % len(charts)]
        having = [r for r in runs if chart.key in r.series.values]
        return draw_chart(chart, having, width, height, glyphs, view.weight)
    return _multiples(charts, runs, width, height, view.weight, ascii_only)


def _multiples(
    charts: list[Chart],
    runs: Sequence[Charted],
    width: int,
    height: int,
    weight: float,
    ascii_only: bool,
) -> list[Text]:
    """As many charts as fit, CELL_W x CELL_H at least, in panel order, row by row; a
    last line counts those left out."""
    glyphs = ASCII if ascii_only else UNICODE
    across = max(1, (width + GAP) // (CELL_W + GAP))
    cell_w = (width - GAP * (across - 1)) // across
    rows_h = height
    down = max(1, rows_h // CELL_H)
    if len(charts) > across * down:  # a line counts the charts left out
        rows_h = height - 1
        down = max(1, rows_h // CELL_H)
    cell_h = max(MIN_CHART_H, rows_h // down)
    shown = charts[: across * down]
    out: list[Text] = []
    for first in range(0, len(shown), across):
        drawn = [
            draw_chart(c, [r for r in runs if c.key in r.series.values], cell_w, cell_h, glyphs,
                       weight)
            for c in shown[first : first + across]
        ]  # fmt: skip
        for i in range(cell_h):
            line = Text(no_wrap=True)
            for j, lines in enumerate(drawn):
                if j:
                    line.append(" " * GAP)
                piece = lines[i] if i < len(lines) else Text()
                line.append_text(piece)
                line.append(" " * (cell_w - piece.cell_len))
            out.append(_cut(line, width))
    left = len(charts) - len(shown)
    if left:
        out.append(_cut(Text(f"+{left} more charts: a shows one at a time", "dim"), width))
    return out[:height]


def _cut(text: Text, width: int) -> Text:
    text.no_wrap = True
    text.truncate(width, overflow="crop")
    return text
