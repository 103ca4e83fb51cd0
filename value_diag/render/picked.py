"""What a run's detail charts, as the live view's keys choose it: which chart, all of them,
the smoothing, and whether other runs share it. Pure, and free of the chart code itself,
so that the live view's start-up does not load what only an opened run draws."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

SMOOTHING: Final = (0.0, 0.6, 0.9)
"""The smoothing weights a key steps through (0: the values as logged)."""


@dataclass(frozen=True, slots=True)
class ChartView:
    """What the detail's charts show.

    ``chart``: the index of the chart shown alone, among those the runs have points for
    (kept in range as they change); ``every``: all of them as small multiples instead;
    ``smoothing``: an index into SMOOTHING; ``overlay``: every run of the table on the
    chart (else the opened run alone).
    """

    chart: int = 0
    every: bool = False
    smoothing: int = 0
    overlay: bool = False

    def next_chart(self, step: int) -> ChartView:
        """The next (1) or previous (-1) chart alone; the index wraps in ``charts_area``."""
        return replace(self, chart=self.chart + step, every=False)

    def toggle_every(self) -> ChartView:
        return replace(self, every=not self.every)

    def next_smoothing(self) -> ChartView:
        return replace(self, smoothing=(self.smoothing + 1) % len(SMOOTHING))

    def toggle_overlay(self) -> ChartView:
        return replace(self, overlay=not self.overlay)

    @property
    def weight(self) -> float:
        return SMOOTHING[self.smoothing % len(SMOOTHING)]
