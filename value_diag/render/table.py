"""The live sweep table: a row per run, sorted, scrolled to the selection, fitted to the screen.

Pure: a TableView is the state (runs, sort, selection, scroll, mode) and every key
returns a new one; ``render`` draws a view in exactly the lines and columns given. The
cells, their colours and the columns left out at narrow widths are --compare's.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Final

from rich.cells import cell_len
from rich.console import Group
from rich.text import Text

from value_diag.health import Status
from value_diag.render import styles
from value_diag.render.compare import (
    AGE,
    PAD,
    RUN,
    STATUS,
    Cell,
    Column,
    assemble,
    fit,
    labels,
    row,
)
from value_diag.render.frames import age_style
from value_diag.render.panel import not_reported
from value_diag.render.sanitize import middle

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from value_diag.frame import Frame
    from value_diag.render.frames import Renderer


# --- Where a frame keeps what the table shows. ---------------------------------------
# The one place that knows. FoldState.step and the stale flag are being added beside this
# module; point these three at the real fields when they land (then drop the getattr):
#   step_of  -> frame.state.step
#   stale_of -> frame.health.stale is not None
#   age_of   -> frame.age(now)


def step_of(frame: Frame) -> int | None:
    """The training step of the run's newest record, if its lines name one.

    PROVISIONAL: reads FoldState.step while that field is being added.
    """
    step = getattr(frame.state, "step", None)
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def stale_of(frame: Frame) -> bool:
    """Whether the run has written nothing for longer than --max-age.

    PROVISIONAL: reads Health.stale (the age of a stale run's last record, else None)
    while that field is being added; False without it.
    """
    return getattr(frame.health, "stale", None) is not None


def age_of(frame: Frame, now: float | None) -> float | None:
    """Seconds from the run's last record to ``now``; None without either."""
    last = frame.state.last_update
    return None if now is None or last is None else max(0.0, now - last)


# --- The vocabulary. -------------------------------------------------------------------


class Key(StrEnum):
    """What a key press asks of the view (commands/keys.py turns bytes into these)."""

    QUIT = "q"
    HELP = "?"
    UP = "up"
    DOWN = "down"
    PAGE_UP = "pgup"
    PAGE_DOWN = "pgdn"
    HOME = "home"
    END = "end"
    ENTER = "enter"
    ESC = "esc"
    SORT = "s"


class Sort(StrEnum):
    """The orders `s` cycles through, in that order. Ties go by natural name order."""

    WORST = "worst"
    """Critical, warning, ok, stale, waiting (BUCKETS)."""
    NAME = "name"
    """Natural order: seed2 before seed10."""
    STEP = "step"
    """Lowest step first (the runs that lag); runs that name no step last."""
    AGE = "age"
    """Longest silent first (a hung run on top); runs with no record yet last."""


class Mode(StrEnum):
    """What the screen shows: the table, the selected run's panel, or the keys."""

    TABLE = "table"
    DETAIL = "detail"
    HELP = "help"


class Bucket(StrEnum):
    """Where a run sorts under Sort.WORST, and what the header counts."""

    CRITICAL = "critical"
    WARNING = "warning"
    OK = "ok"
    STALE = "stale"
    WAITING = "waiting"


BUCKETS: Final = tuple(Bucket)
"""Sort.WORST's order. A stale run (critical under --max-age) comes after the healthy
ones: finished runs go stale too, and would otherwise bury the dying ones; its row says
stale in red, and its metrics keep their colours."""
COUNTED: Final = (Bucket.CRITICAL, Bucket.WARNING, Bucket.STALE, Bucket.WAITING)
"""The buckets the header counts, when there are any, after the number of runs."""
SHORT_BUCKET: Final = {
    Bucket.CRITICAL: "crit",
    Bucket.WARNING: "warn",
    Bucket.STALE: "stale",
    Bucket.WAITING: "wait",
}
"""The header's words when the full ones do not fit."""
STEP: Final = "step"
LIVE_ALWAYS: Final = (STATUS, AGE, STEP)
"""The columns the live table shows at any width, after the run name, in this order: on
a screen too narrow even for them, the line is cut at its end."""
MIN_RUN_TINY: Final = 4
"""Cells a run name keeps on a screen too narrow for the columns of LIVE_ALWAYS."""
MIN_BODY: Final = 2
"""Lines the rows keep before the column header, then the footer, are left out."""
HELP_KEYS: Final = (
    ("q", "quit"),
    ("↑↓/jk", "move"),
    ("PgUp/PgDn", "move a page"),
    ("Home/End", "first, last run"),
    ("Enter", "open the run's panel"),
    ("Esc", "back"),
    ("s", "sort: worst, name, step, age"),
    ("?", "help"),
)
"""The keys and what they do, as the help screen lists them."""
ASCII_KEYS: Final = {"↑↓/jk": "Up/Down/jk"}


@lru_cache(maxsize=4096)
def natural_key(name: str) -> tuple[tuple[int, str], ...]:
    """A sort key in which the numbers in a name count as numbers: seed2 before seed10.

    Case is ignored. Text and digit runs alternate from a text run (maybe empty), so two
    keys compare text with text and numbers with numbers.
    """
    parts = _DIGITS.split(name.casefold())
    return tuple((int(p), "") if i % 2 else (0, p) for i, p in enumerate(parts))


_DIGITS: Final = re.compile("([0-9]+)")


# --- One run, and the view. ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """A run as the table knows it: its latest frame, and what the frame says of it."""

    name: str
    frame: Frame
    step: int | None = None
    stale: bool = False
    _rows: dict[tuple[bool, bool], tuple[Cell, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """--compare's cells of the frame, made once for each (ascii_only, critic)."""

    def cells(self, ascii_only: bool = False, critic: bool = False) -> tuple[Cell, ...]:
        """The frame's --compare row: a cell for each of ``labels(critic)``."""
        key = (ascii_only, critic)
        cells = self._rows.get(key)
        if cells is None:
            cells = self._rows[key] = row(self.frame, ascii_only, critic)
        return cells

    @property
    def bucket(self) -> Bucket:
        """Waiting before any metric, stale past --max-age, else its status."""
        status = self.frame.health.status
        if status is Status.NO_DATA:
            return Bucket.WAITING
        if self.stale:
            return Bucket.STALE
        return Bucket(status.value)


def run_of(frame: Frame) -> Run:
    """A frame as a row of the table."""
    return Run(frame.source, frame, step_of(frame), stale_of(frame))


def _by_name(run: Run) -> tuple[tuple[tuple[int, str], ...], str]:
    return natural_key(run.name), run.name


SORT_KEYS: Final[dict[Sort, Callable[[Run], tuple[object, ...]]]] = {
    Sort.WORST: lambda r: (BUCKETS.index(r.bucket), _by_name(r)),
    Sort.NAME: lambda r: (_by_name(r),),
    Sort.STEP: lambda r: (r.step is None, r.step or 0, _by_name(r)),
    Sort.AGE: lambda r: (
        r.frame.state.last_update is None,
        r.frame.state.last_update or 0.0,
        _by_name(r),
    ),
}


def ordered(runs: Iterable[Run], sort: Sort) -> list[Run]:
    """The runs in the order of ``sort``."""
    return sorted(runs, key=SORT_KEYS[sort])


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
    """The mode help goes back to."""
    height: int = 24

    def order(self) -> list[Run]:
        """The runs as the table lists them."""
        return ordered(self.runs.values(), self.sort)

    def index(self) -> int:
        """The selected row's place in the order (0: the top, also for no selection)."""
        if self.selected is None:
            return 0
        names = [r.name for r in self.order()]
        return names.index(self.selected) if self.selected in names else 0

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
        runs = {}
        for run in map(run_of, frames):
            old = self.runs.get(run.name)
            runs[run.name] = old if old is not None and old.frame is run.frame else run
        return self.with_runs(runs, now)

    def with_runs(self, runs: Mapping[str, Run], now: float | None = None) -> TableView:
        """As ``with_frames``, with the runs made already."""
        selected = self.selected
        if selected is not None and selected not in runs:
            after = ordered(runs.values(), self.sort)
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
        if self.mode is Mode.HELP:
            if key in (Key.ESC, Key.HELP, Key.ENTER):
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
        page = max(1, self.window().shown)
        return replace(self._select(self.index() - page), offset=self.offset - page)._scrolled()

    def page_down(self) -> TableView:
        """A screenful down, the rows moving with the selection."""
        page = max(1, self.window().shown)
        return replace(self._select(self.index() + page), offset=self.offset + page)._scrolled()

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

    def help(self) -> TableView:
        """The list of keys; ? or Esc goes back to where it was opened."""
        return replace(self, mode=Mode.HELP, back=self.mode)

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


_ACTIONS: Final[dict[str, Callable[[TableView], TableView]]] = {
    Key.UP: TableView.up,
    Key.DOWN: TableView.down,
    Key.PAGE_UP: TableView.page_up,
    Key.PAGE_DOWN: TableView.page_down,
    Key.HOME: TableView.home,
    Key.END: TableView.end,
    Key.ENTER: TableView.enter,
    Key.ESC: TableView.esc,
    Key.SORT: TableView.cycle_sort,
    Key.HELP: TableView.help,
}


# --- Drawing. ----------------------------------------------------------------------------


def render(view: TableView, renderer: Renderer, width: int, height: int) -> RenderableType:
    """The view in at most ``height`` lines of at most ``width`` cells."""
    view = view.sized(height)
    if width <= 0 or height <= 0:
        return Group()
    if view.mode is Mode.HELP:
        return _lines(help_lines(renderer.ascii_only, renderer.sep), width, height)
    run = view.current()
    if view.mode is Mode.DETAIL and run is not None:
        return _detail(run, view, renderer, width, height)
    return _lines(table_lines(view, renderer, width), width, height)


def table_lines(view: TableView, renderer: Renderer, width: int) -> list[Text]:
    """The table at the view's height: counts, column labels, rows, more, footer."""
    order = view.order()
    labels, footer, body = chrome(view.height)
    out = [header(order, renderer, width)]
    if view.height <= 1:
        return out
    cols = grid(order, view.now, renderer, width)
    if labels:
        out.append(cols.labels())
    win = window(len(order), body, view.index(), view.offset)
    more = partial(_more, width=width, ascii_only=renderer.ascii_only, sep=renderer.sep)
    if not order:
        out.append(Text("no run files yet", "dim"))
    elif win.shown == 0:
        out.append(more(0, win.total))
    elif win.above and win.below and win.shown + 2 > body:  # one line counts both sides
        out.append(cols.row(win.first, True, width, renderer.ascii_only))
        out.append(more(win.above, win.below))
    else:
        if win.above:
            out.append(more(win.above, 0))
        selected = view.index()
        for i in range(win.first, win.first + win.shown):
            out.append(cols.row(i, i == selected, width, renderer.ascii_only))
        if win.below:
            out.append(more(0, win.below))
    if footer:
        out.append(_footer(view, len(cols.hidden), renderer.sep))
    return out


def _more(above: int, below: int, *, width: int, ascii_only: bool, sep: str) -> Text:
    """The line counting the rows not shown: "↑ 3 more", "+17 more ↓", or both; in
    fewer words ("↑3 ↓17") when those do not fit."""
    up, down = ("^", "v") if ascii_only else ("↑", "↓")
    said = [f"{up} {above} more"] if above else []
    said += [f"+{below} more {down}"] if below else []
    line = sep.join(said)
    if cell_len(line) > width:
        line = " ".join([f"{up}{above}"] * bool(above) + [f"{down}{below}"] * bool(below))
    return Text(line, "dim")


def header(order: list[Run], renderer: Renderer, width: int) -> Text:
    """ "64 runs · 3 critical · 5 warning · 2 stale · 1 waiting": the counts that are not 0,
    in shorter words if the full ones do not fit."""
    counts = Counter(run.bucket for run in order)
    total = len(order)
    full = _header(total, counts, renderer.sep, lambda b: b.value)
    if full.cell_len <= width:
        return full
    return _header(total, counts, " ", SHORT_BUCKET.__getitem__)


def _header(total: int, counts: Counter[Bucket], sep: str, word: Callable[[Bucket], str]) -> Text:
    out = Text(f"{total} {'run' if total == 1 else 'runs'}", "bold")
    for bucket in COUNTED:
        if counts[bucket]:
            out.append(sep)
            out.append(f"{counts[bucket]} {word(bucket)}", BUCKET_STYLE[bucket])
    return out


BUCKET_STYLE: Final = {
    Bucket.CRITICAL: styles.CRITICAL,
    Bucket.WARNING: styles.WARNING,
    Bucket.OK: styles.status_style(Status.OK),
    Bucket.STALE: styles.CRITICAL,
    Bucket.WAITING: styles.NOT_REPORTED,
}


def live_columns(order: list[Run], now: float | None, renderer: Renderer) -> list[Column]:
    """--compare's columns for the runs in this order, the status saying stale and
    waiting, with the step and the age after it."""
    ascii_only = renderer.ascii_only
    dash = Cell(not_reported(ascii_only), styles.NOT_REPORTED)
    steps = tuple(dash if r.step is None else Cell(f"{r.step:,}") for r in order)
    ages = tuple(_age_cell(r, now, dash) for r in order)
    out: list[Column] = []
    rows = [run.cells(ascii_only, renderer.critic) for run in order]
    for column in assemble(labels(renderer.critic), rows):
        if column.label in (STEP, AGE):
            continue  # ours, below
        if column.label != STATUS:
            out.append(column)
            continue
        status = tuple(_status_cell(r, c) for r, c in zip(order, column.cells, strict=True))
        out += [replace(column, cells=status), Column(AGE, ages), Column(STEP, steps)]
    return out


def _status_cell(run: Run, cell: Cell) -> Cell:
    bucket = run.bucket
    if bucket in (Bucket.STALE, Bucket.WAITING):
        return Cell(bucket.value, BUCKET_STYLE[bucket], bucket is Bucket.STALE)
    return cell


def _age_cell(run: Run, now: float | None, dash: Cell) -> Cell:
    age = age_of(run.frame, now)
    if age is None:
        return dash
    return Cell(short_age(age), styles.CRITICAL if run.stale else age_style(age), run.stale)


def short_age(seconds: float) -> str:
    """An age in at most six cells: "12s", "4m10s", "2h05m", "3d04h"."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


@dataclass(frozen=True, slots=True)
class Grid:
    """The columns a width shows, the cells each takes, and the labels of those left out."""

    columns: list[Column]
    widths: list[int]
    hidden: list[str]

    def labels(self) -> Text:
        """The line of column labels."""
        return self._line(lambda column: (column.label, "bold"))

    def row(self, i: int, selected: bool, width: int, ascii_only: bool) -> Text:
        """Row ``i``'s line; the selected one reversed across the ``width`` of the screen.

        Run names and capped cells too long for their column lose their middle.
        """
        widths = dict(zip((c.label for c in self.columns), self.widths, strict=True))

        def cell(column: Column) -> tuple[str, str]:
            c = column.cells[i]
            if column.label == RUN or column.cap is not None:
                return middle(c.text, widths[column.label], ascii_only), c.style
            return c.text, c.style

        out = self._line(cell)
        if selected:
            out.truncate(width, overflow="crop", pad=True)
            out.stylize("reverse")
        return out

    def _line(self, cell: Callable[[Column], tuple[str, str]]) -> Text:
        """Each column's text and style, padded as Rich pads a borderless table (a cell
        each side)."""
        out = Text(no_wrap=True, overflow="crop", end="\n")
        for column, width in zip(self.columns, self.widths, strict=True):
            text, style = cell(column)
            pad = " " * max(0, width - cell_len(text))
            out.append(" ")
            if column.right:
                out.append(pad)
            out.append(text, style)
            if not column.right:
                out.append(pad)
            out.append(" ")
        return out


def grid(order: list[Run], now: float | None, renderer: Renderer, width: int) -> Grid:
    """The live columns fitted to ``width`` as --compare fits its own; on a screen too
    narrow even for LIVE_ALWAYS, the run name gives way first (to MIN_RUN_TINY)."""
    fitted = fit(live_columns(order, now, renderer), width, LIVE_ALWAYS)
    widths = [fitted.run_width if c.label == RUN else c.width for c in fitted.shown]
    over = sum(w + PAD for w in widths) - width
    if over > 0:
        widths[0] = max(MIN_RUN_TINY, widths[0] - over)  # the run name is the first
    return Grid(fitted.shown, widths, fitted.hidden)


def _footer(view: TableView, hidden: int, sep: str) -> Text:
    said = f"sort: {view.sort.value}"
    if hidden:
        said += f"{sep}{hidden} {'column' if hidden == 1 else 'columns'} hidden"
    return Text(f"{said}{sep}? help", "dim")


def help_lines(ascii_only: bool, sep: str) -> list[Text]:
    """The keys and what they do, a line each, then how to go back."""
    keys = [(ASCII_KEYS.get(k, k) if ascii_only else k, what) for k, what in HELP_KEYS]
    wide = max(len(k) for k, _what in keys)
    out = [Text("Keys", "bold")]
    out += [Text.assemble(("  " + k.ljust(wide), "bold"), "  " + what) for k, what in keys]
    out.append(Text(f"Esc back{sep}q quit", "dim"))
    return out


def _lines(lines: list[Text], width: int, height: int) -> RenderableType:
    """Lines cut to ``width`` cells, at most ``height`` of them (the last one kept)."""
    if len(lines) > height:
        lines = [*lines[: height - 1], lines[-1]] if height > 1 else lines[:1]
    for line in lines:
        line.no_wrap, line.overflow, line.end = True, "crop", "\n"
        line.truncate(width, overflow="crop")
    return Group(*lines)


def _detail(
    run: Run, view: TableView, renderer: Renderer, width: int, height: int
) -> RenderableType:
    """The selected run's panel, with its trend, and how to get back."""
    trending = copy.copy(renderer)
    trending.trend = True
    panel = trending.boxed(run.frame, view.now, named=True)
    up_down = "Up/Down" if renderer.ascii_only else "↑↓"
    hint = Text(f"Esc back{renderer.sep}{up_down} other runs{renderer.sep}? help", "dim")
    return Cropped(panel, hint, width, height)


@dataclass(frozen=True, slots=True)
class Cropped:
    """A renderable cut to ``height`` lines of ``width`` cells, a one-line footer last."""

    body: RenderableType
    footer: Text
    width: int
    height: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        room = self.height - 1 if self.height > 1 else self.height
        lines = console.render_lines(self.body, options.update(width=self.width, height=None))
        for line in lines[:room]:
            yield from Segment.adjust_line_length(line, self.width, pad=False)
            yield Segment.line()
        if self.height > 1:
            footer = self.footer.copy()
            footer.no_wrap, footer.overflow, footer.end = True, "crop", "\n"
            footer.truncate(self.width, overflow="crop")
            yield footer
