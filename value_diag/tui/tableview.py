"""The live table's state: the runs, the sort, the selection, the scroll and the mode.

Pure: every key returns a new TableView; render/table.py draws one.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from value_diag.render.picked import ChartView
from value_diag.render.runs import SORT_KEYS, Run, Sort, ordered
from value_diag.tui.bindings import ACTIONS, Key

if TYPE_CHECKING:
    from value_diag.frame import Frame

__all__ = ["Key", "Mode", "TableView", "Window", "chrome", "window"]


class Mode(StrEnum):
    """What the screen shows: the table, the selected run's panel, what to check first for
    it, or the keys."""

    TABLE = "table"
    DETAIL = "detail"
    WHY = "why"
    HELP = "help"


MIN_BODY: Final = 2
"""Lines the rows keep before the column header, then the footer, are left out."""


@dataclass(frozen=True, slots=True)
class Window:
    """Which rows of ``total`` show: ``shown`` of them from ``first``."""

    first: int
    shown: int
    total: int

    @property
    def above(self) -> int:
        """Rows before the first shown."""
        return self.first

    @property
    def below(self) -> int:
        """Rows after the last shown."""
        return self.total - self.first - self.shown


def window(total: int, lines: int, selected: int, offset: int) -> Window:
    """The rows that ``lines`` lines show, the selected one among them, counting the rest.

    Rows above and below take a line each ("↑ 3 more", "+17 more ↓"); the view scrolls
    from ``offset`` (the first row shown before) only as far as the selection needs. Two
    lines show the selected row and one line counting both sides; one line only counts.
    """
    if total <= lines:
        return Window(0, total, total)
    if lines <= 1:
        return Window(0, 0, total)
    selected = min(max(selected, 0), total - 1)
    if lines == 2:
        return Window(selected, 1, total)
    bottom = total - (lines - 1)  # the first row when nothing is below
    first = min(max(offset, 0), bottom)
    if not first <= selected < first + _rows(first, bottom, lines):
        # Scroll as little as will do: the selection becomes the first or the last row.
        first = selected if selected < first else selected - (lines - 2) + 1
        first = min(max(first, 0), bottom)
    return Window(first, _rows(first, bottom, lines), total)


def _rows(first: int, bottom: int, lines: int) -> int:
    """Rows shown from ``first``: a line goes to each side that has more."""
    return lines - 1 if first in (0, bottom) else lines - 2


def chrome(height: int) -> tuple[bool, bool, int]:
    """Whether ``height`` lines have room for the column header and the footer, and the
    lines left for the rows. The header line with the counts is always there."""
    labels = height - 2 >= MIN_BODY
    footer = height - 3 >= MIN_BODY
    return labels, footer, max(0, height - 1 - labels - footer)


@dataclass(frozen=True, slots=True)
class TableView:
    """The live table's state. Every key returns a new view; nothing is drawn here.

    ``selected`` names the selected run, so the selection follows its run when the
    order changes; None selects the top row, whichever run it is, until a key moves it.
    ``offset`` is the first row shown; ``height`` the lines of the screen, which sets
    how far a page moves and how far the view scrolls.
    """

    runs: Mapping[str, Run] = field(default_factory=dict)
    now: float | None = None
    """The clock time (s) the ages are counted to."""
    sort: Sort = Sort.WORST
    selected: str | None = None
    offset: int = 0
    mode: Mode = Mode.TABLE
    back: Mode = Mode.TABLE
    """The mode help, and what to check first, go back to."""
    height: int = 24
    charts: ChartView = field(default_factory=ChartView)
    """What the opened run's charts show (its detail's keys change it)."""
    marked: frozenset[str] = frozenset()
    """The runs marked (by name) to share the opened run's charts."""

    def order(self) -> list[Run]:
        """The runs as the table lists them."""
        return _order(self.runs, self.sort, self.now)[0]

    def index(self) -> int:
        """The selected row's place in the order (0: the top, also for no selection)."""
        if self.selected is None:
            return 0
        return _order(self.runs, self.sort, self.now)[1].get(self.selected, 0)

    def current(self) -> Run | None:
        """The selected run; None without runs."""
        order = self.order()
        return order[self.index()] if order else None

    def window(self) -> Window:
        """The rows on screen at the view's height."""
        return window(len(self.runs), chrome(self.height)[2], self.index(), self.offset)

    # -- what changes the view

    def with_frames(self, frames: Iterable[Frame], now: float | None = None) -> TableView:
        """The view of new frames: the selection stays with its run, on the same line of
        the screen if it can; a run that went takes its place in the order to the next."""
        runs: dict[str, Run] = {}
        same = True
        for frame in frames:
            old = self.runs.get(frame.name)
            if old is not None and old.frame is frame:
                runs[frame.name] = old
            else:
                runs[frame.name] = Run(frame)
                same = False
        if same and len(runs) == len(self.runs):
            # Only the time moved (a redraw for the age): the same mapping keeps the order
            # made for it, so a tick does not sort thousands of runs again.
            return self._keeping_line(replace(self, now=now))
        return self.with_runs(runs, now)

    def with_runs(self, runs: Mapping[str, Run], now: float | None = None) -> TableView:
        """As ``with_frames``, with the runs made already."""
        selected = self.selected
        if selected is not None and selected not in runs:
            after = ordered(runs.values(), self.sort, now)
            selected = after[min(self.index(), len(after) - 1)].name if after else None
        return self._keeping_line(replace(self, runs=dict(runs), now=now, selected=selected))

    def at(self, now: float) -> TableView:
        """The view with its ages counted to ``now``."""
        return replace(self, now=now)

    def sized(self, height: int) -> TableView:
        """The view on a screen of ``height`` lines, scrolled to keep the selection in it."""
        return replace(self, height=height)._scrolled()

    def press(self, key: str) -> TableView:
        """The view after a key (a Key's value); keys it has no use for change nothing.

        Key.QUIT is the caller's: it ends the watch.
        """
        if self.mode in (Mode.HELP, Mode.WHY):
            if key in (Key.ESC, Key.ENTER, _OPENED_BY[self.mode]):
                return replace(self, mode=self.back)
            return self
        action = _ACTIONS.get(key)
        return self if action is None else action(self)

    def up(self) -> TableView:
        """The row above."""
        return self._select(self.index() - 1)

    def down(self) -> TableView:
        """The row below."""
        return self._select(self.index() + 1)

    def page_up(self) -> TableView:
        """A screenful up, the rows moving with the selection."""
        page = self._page()
        return replace(self._select(self.index() - page), offset=self.offset - page)._scrolled()

    def page_down(self) -> TableView:
        """A screenful down, the rows moving with the selection."""
        page = self._page()
        return replace(self._select(self.index() + page), offset=self.offset + page)._scrolled()

    def _page(self) -> int:
        """Rows a page moves: all the rows when they fit, else as many as the screen shows
        between both "more" lines; the same down and up, so that PgDn then PgUp comes back
        to the same row."""
        lines = chrome(self.height)[2]
        return max(1, lines if len(self.runs) <= lines else lines - 2)

    def home(self) -> TableView:
        """The top row."""
        return self._select(0)

    def end(self) -> TableView:
        """The bottom row."""
        return self._select(len(self.runs) - 1)

    def enter(self) -> TableView:
        """Opens the selected run's panel (and holds on to that run)."""
        run = self.current()
        if run is None or self.mode is not Mode.TABLE:
            return self
        return replace(self, mode=Mode.DETAIL, selected=run.name)

    def esc(self) -> TableView:
        """Back to the table."""
        return replace(self, mode=Mode.TABLE)

    def cycle_sort(self) -> TableView:
        """The next order of Sort; the selection stays with its run."""
        sorts = list(Sort)
        following = sorts[(sorts.index(self.sort) + 1) % len(sorts)]
        return self._keeping_line(replace(self, sort=following))

    def chart_left(self) -> TableView:
        """The opened run's previous chart."""
        return self._charting(self.charts.next_chart(-1))

    def chart_right(self) -> TableView:
        """The opened run's next chart."""
        return self._charting(self.charts.next_chart(1))

    def all_charts(self) -> TableView:
        """Every chart of the opened run at once, or one at a time again."""
        return self._charting(self.charts.toggle_every())

    def smooth(self) -> TableView:
        """The next smoothing of the charts (off, then stronger, then off again)."""
        return self._charting(self.charts.next_smoothing())

    def overlay(self) -> TableView:
        """Every run on the opened run's charts, or the run alone again."""
        return self._charting(self.charts.toggle_overlay())

    def mark(self) -> TableView:
        """Marks the selected run to share the opened run's charts, or unmarks it."""
        run = self.current()
        if run is None:
            return self
        return replace(self, marked=self.marked ^ {run.name}, selected=run.name)

    def _charting(self, charts: ChartView) -> TableView:
        """The charts changed, in a run's detail; elsewhere the key does nothing."""
        return replace(self, charts=charts) if self.mode is Mode.DETAIL else self

    def help(self) -> TableView:
        """The list of keys; ? or Esc goes back to where it was opened."""
        return replace(self, mode=Mode.HELP, back=self.mode)

    def why(self) -> TableView:
        """What to check first for the selected run (and holds on to that run); w or Esc
        goes back to where it was opened."""
        run = self.current()
        if run is None:
            return self
        return replace(self, mode=Mode.WHY, back=self.mode, selected=run.name)

    # -- helpers

    def _select(self, index: int) -> TableView:
        order = self.order()
        if not order:
            return self
        run = order[min(max(index, 0), len(order) - 1)]
        return replace(self, selected=run.name)._scrolled()

    def _scrolled(self) -> TableView:
        """The offset that keeps the selection on screen, moved as little as it can."""
        return replace(self, offset=self.window().first)

    def _keeping_line(self, after: TableView) -> TableView:
        """``after``, scrolled so that the selection stays on the screen line it was on."""
        line = self.index() - self.offset
        return replace(after, offset=after.index() - line)._scrolled()


_Order = tuple[Mapping[str, Run], Sort, "float | None", list[Run], dict[str, int]]
_last: list[_Order] = []
"""The last order made, with the runs, sort and time it is of: every key asks for the order
several times, a backlog of keys (a paste) would sort every run for each, and a redraw for
the age every run each second."""


def _order(
    runs: Mapping[str, Run], sort: Sort, now: float | None
) -> tuple[list[Run], dict[str, int]]:
    """The runs in ``sort`` order and each one's place in it, made once for the same runs
    (the same mapping: views share it until new frames come), sort and time; only
    Sort.AGE depends on the time."""
    at = now if sort is Sort.AGE else None
    if _last:
        r, s, n, before, places = _last[0]
        if r is runs and s is sort and n == at:
            return before, places
        order = _resorted(before, r, runs, sort, at) if s is sort and n == at else None
    else:
        order = None
    if order is None:
        order = ordered(runs.values(), sort, at)
    places = {run.name: i for i, run in reversed(list(enumerate(order)))}
    _last[:] = [(runs, sort, at, order, places)]
    return order, places


RESORT: Final = 8
"""When more than one run in RESORT has a new frame, all are sorted again; fewer are put in
their places in the order before."""


def _resorted(
    before: list[Run],
    was: Mapping[str, Run],
    runs: Mapping[str, Run],
    sort: Sort,
    at: float | None,
) -> list[Run] | None:
    """``runs`` in ``sort`` order made from ``before``, the order of ``was``: the runs
    kept stay as they were, and each new one (a new frame) is put in its place, so that a
    frame of one run among thousands does not sort them all. The same order as a sort:
    every key ends with the run's name, so no two runs tie. None when many are new."""
    fresh = [run for name, run in runs.items() if was.get(name) is not run]
    if len(fresh) * RESORT > len(runs):
        return None
    order = [run for run in before if runs.get(run.name) is run]
    key = SORT_KEYS[sort]
    for run in fresh:
        insort(order, run, key=lambda r: key(r, at))
    return order


_OPENED_BY: Final = {Mode.HELP: Key.HELP, Mode.WHY: Key.WHY}
"""The key that opens a screen laid over the others, and closes it again."""

_ACTIONS: Final[dict[str, Callable[[TableView], TableView]]] = {
    key: getattr(TableView, action) for key, action in ACTIONS.items()
}
"""What each key the view answers does to it: the methods tui/bindings.py names."""
