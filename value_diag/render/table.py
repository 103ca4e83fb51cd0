"""The live sweep table drawn: a row per run, counted where they do not fit, in the
lines and columns there are. Pure.

The cells, their colours and the columns left out at narrow widths are --compare's.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Final

from rich.cells import cell_len
from rich.console import Group
from rich.text import Text

from value_diag.health import Status
from value_diag.render import styles
from value_diag.render.advice import checks, plain
from value_diag.render.compare import (
    AGE,
    ALARM_MARK,
    PAD,
    RUN,
    STATUS,
    STEP,
    WHY,
    Cell,
    Column,
    age_column,
    assemble,
    fit,
    fitted_text,
    heading,
    hidden_labels,
    labels,
    squeeze,
    why_cell,
)
from value_diag.render.frames import count
from value_diag.render.runs import SORT_WORDS, Bucket, Run
from value_diag.render.sanitize import clean_name
from value_diag.tui.bindings import help_keys
from value_diag.tui.tableview import Mode, TableView, chrome, window

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.segment import Segment

    from value_diag.frame import Frame
    from value_diag.render.chartview import Charted
    from value_diag.render.frames import Renderer
    from value_diag.render.picked import ChartView

COUNTED: Final = (Bucket.CRITICAL, Bucket.WARNING, Bucket.STALE, Bucket.WAITING)
"""The buckets the header counts, when there are any, after the number of runs."""
SHORT_BUCKET: Final = {
    Bucket.CRITICAL: "crit",
    Bucket.WARNING: "warn",
    Bucket.STALE: "stale",
    Bucket.WAITING: "wait",
}
"""The header's words when the full ones do not fit."""
LIVE_ALWAYS: Final = (STATUS, WHY, AGE, STEP)
"""The columns the live table shows at any width, after the run name, in this order: on
a screen too narrow even for them, the line is cut at its end."""
MARKED: Final = "bold cyan"
"""The mark of a run marked to share the opened run's charts."""
MIN_RUN_TINY: Final = 4
"""Cells a run name keeps on a screen too narrow for the columns of LIVE_ALWAYS."""
NO_NINE: Final = "cannot give the nine"
"""The why of a run read from a trainer's own log (frame.SourceLimits) that nothing else
alarms: its metrics are blank because the format has no place for them, not because the
run is broken. Its detail view (Enter) says the whole statement and the hook that would."""


def render(
    view: TableView,
    renderer: Renderer,
    width: int,
    height: int,
    charted: Sequence[Charted] = (),
) -> RenderableType:
    """The view in at most ``height`` lines of at most ``width`` cells; ``charted``: the
    runs the opened run's charts draw (the opened one first), with their histories."""
    view = view.sized(height)
    if width <= 0 or height <= 0:
        return Group()
    if view.mode is Mode.HELP:
        return _lines(help_lines(renderer.ascii_only, renderer.sep), width, height)
    run = view.current()
    if view.mode is Mode.WHY and run is not None:
        return _lines(why_lines(run.frame, renderer, width), width, height)
    if view.mode is Mode.DETAIL and run is not None:
        return _detail(run, view, renderer, width, height, charted)
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
            marked = order[i].name in view.marked
            out.append(cols.row(i, i == selected, width, renderer.ascii_only, marked))
        if win.below:
            out.append(more(0, win.below))
    if footer:
        out.append(_footer(view, cols, renderer.sep, width))
    return out


def _more(above: int, below: int, *, width: int, ascii_only: bool, sep: str) -> Text:
    """The line counting the rows not shown: "↑ 3 more", "↓ 17 more", or both; in
    fewer words ("↑3 ↓17") when those do not fit."""
    up, down = ("^", "v") if ascii_only else ("↑", "↓")
    said = [f"{up} {above} more"] if above else []
    said += [f"{down} {below} more"] if below else []
    line = sep.join(said)
    if cell_len(line) > width:
        line = " ".join([f"{up}{above}"] * bool(above) + [f"{down}{below}"] * bool(below))
    return Text(line, "dim")


def header(order: list[Run], renderer: Renderer, width: int) -> Text:
    """ "64 runs · 3 critical · 5 warning · 2 stale · 1 waiting": the counts that are not 0,
    in shorter words if the full ones do not fit."""
    counts = _counted(order)
    total = len(order)
    full = _header(total, counts, renderer.sep, lambda b: b.value)
    if full.cell_len <= width:
        return full
    return _header(total, counts, " ", SHORT_BUCKET.__getitem__)


def _counted(order: list[Run]) -> Counter[Bucket]:
    """The runs in each bucket, counted once for the same order (the same list), which a
    redraw for the age draws again."""
    if _counts and _counts[0][0] is order:
        return _counts[0][1]
    counts = Counter(run.bucket for run in order)
    _counts[:] = [(order, counts)]
    return counts


_counts: list[tuple[list[Run], Counter[Bucket]]] = []
"""The last order counted, and its counts."""


def _header(total: int, counts: Counter[Bucket], sep: str, word: Callable[[Bucket], str]) -> Text:
    out = Text(count(total, "run"), "bold")
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
    """--compare's columns for the runs in this order, the status saying waiting, the
    ages counted to ``now``. Only the ages are made again for the same order (the same
    list: tui/tableview.py keeps it while no frame changes), as a redraw for the age asks."""
    ascii_only, critic = renderer.ascii_only, renderer.critic
    if _built and _built[0][0] is order and _built[0][1:3] == (ascii_only, critic):
        made = _built[0][3]
    else:
        made = _columns(order, ascii_only, critic)
        _built[:] = [(order, ascii_only, critic, made)]
    out = []
    for c in made:
        if c.label == AGE:
            ages, measured = age_column([r.frame for r in order], now, ascii_only)
            c = replace(c, cells=ages, measured=measured)
        out.append(c)
    return out


_built: list[tuple[list[Run], bool, bool, list[Column]]] = []
"""The last columns made by ``_columns``, with the order, ascii_only and critic they are of."""


def _columns(order: list[Run], ascii_only: bool, critic: bool) -> list[Column]:
    """The live columns of the runs in this order, the status saying waiting; the age
    column is made by the caller, for its time."""
    rows = _MEASURED.rows_of(order, ascii_only, critic)
    return assemble(labels(critic), rows, _MEASURED.measures())


class _Measured:
    """The rows of the last table made (a run's --compare cells, the status saying waiting)
    and, per column, its cells' widths and alarms counted over them: a new frame of a few
    runs among thousands measures those runs' cells alone, and the others' not again."""

    def __init__(self) -> None:
        self.key: tuple[bool, bool] | None = None
        self.rows: dict[int, tuple[tuple[Cell, ...], tuple[Cell, ...]]] = {}
        """By the id of a run's cells (kept here, so that no other takes that id): them,
        and the row the table shows."""
        self.widths: list[Counter[int]] = []
        """Per column: how many rows have a cell of each width."""
        self.alarms: list[int] = []
        """Per column: how many rows have an alarm in it."""

    def rows_of(self, order: list[Run], ascii_only: bool, critic: bool) -> list[tuple[Cell, ...]]:
        """The rows of the runs in this order; the counts follow the runs that came and went."""
        names = labels(critic)
        if self.key != (ascii_only, critic):
            self.key = (ascii_only, critic)
            self.rows = {}
            self.widths = [Counter() for _ in names]
            self.alarms = [0] * len(names)
        status, why = names.index(STATUS), names.index(WHY)
        before = self.rows
        after: dict[int, tuple[tuple[Cell, ...], tuple[Cell, ...]]] = {}
        out = []
        for run in order:
            cells = run.cells(ascii_only, critic)
            entry = before.get(id(cells))
            if entry is None or entry[0] is not cells:
                row = list(cells)
                row[status] = _status_cell(run, cells[status])
                row[why] = _why_cell(run, cells[why])
                shown = tuple(row)
                entry = (cells, shown)
                self._count(shown, 1)
            after[id(cells)] = entry
            out.append(entry[1])
        for key, entry in before.items():
            if after.get(key) is not entry:
                self._count(entry[1], -1)
        self.rows = after
        return out

    def measures(self) -> list[tuple[int, bool]] | None:
        """Each column's widest cell and whether one is an alarm (None without rows)."""
        if not self.rows:
            return None
        return [(max(w), a > 0) for w, a in zip(self.widths, self.alarms, strict=True)]

    def _count(self, row: tuple[Cell, ...], sign: int) -> None:
        for j, c in enumerate(row):
            widths = self.widths[j]
            w = cell_len(c.text)
            widths[w] += sign
            if not widths[w]:
                del widths[w]
            if c.alarm:
                self.alarms[j] += sign


_MEASURED: Final = _Measured()
"""What the live table counted of the rows it showed last."""


def _why_cell(run: Run, cell: Cell) -> Cell:
    """A trainer's own log's why, when nothing else alarms: it cannot give the nine."""
    if run.frame.limits is not None and not cell.text:
        return Cell(NO_NINE, "dim")
    return cell


def _status_cell(run: Run, cell: Cell) -> Cell:
    if run.bucket is Bucket.WAITING:
        return Cell(Bucket.WAITING.value, BUCKET_STYLE[Bucket.WAITING])
    return cell


@dataclass(frozen=True, slots=True)
class Grid:
    """The columns a width shows, the cells each takes, and the labels of those left out."""

    columns: list[Column]
    widths: list[int]
    hidden: list[str]
    alarms: frozenset[str] = frozenset()
    """The hidden columns that hold an alarm in some run."""
    ascii_only: bool = False

    def labels(self) -> Text:
        """The line of column labels."""
        return self._line(lambda column: (heading(column.label, self.ascii_only), "bold"))

    def row(
        self, i: int, selected: bool, width: int, ascii_only: bool, marked: bool = False
    ) -> Text:
        """Row ``i``'s line; the selected one reversed across the ``width`` of the screen;
        a marked one (Space) with a mark in its first cell.

        Run names and capped cells too long for their column lose their middle.
        """
        widths = dict(zip((c.label for c in self.columns), self.widths, strict=True))

        def cell(column: Column) -> tuple[str, str]:
            c = column.cells[i]
            return fitted_text(column, c, widths[column.label], ascii_only), c.style

        out = self._line(cell)
        if marked:  # in the pad before the run name: no column moves
            out = Text.assemble(("*" if ascii_only else "●", MARKED), out[1:])
            out.no_wrap, out.overflow, out.end = True, "crop", "\n"
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
    return Grid(fitted.shown, widths, fitted.hidden, fitted.alarms, renderer.ascii_only)


def _footer(view: TableView, cols: Grid, sep: str, width: int) -> Text:
    """The sort and its direction, the hidden columns by name (those holding an alarm
    first, marked), and the help key; the hidden ones counted where they do not fit."""
    said = f"sort: {SORT_WORDS[view.sort]}"
    end = f"{sep}? help"
    if not cols.hidden:
        return Text(said + end, "dim")
    names = hidden_labels(cols.hidden, cols.alarms, cols.ascii_only)
    room = width - cell_len(said + sep + "hidden: " + end)
    shown = squeeze(", ".join(names), max(room, 2))
    out = Text(f"{said}{sep}hidden: ", "dim")
    for k, name in enumerate(shown.split(", ")):
        if k:
            out.append(", ", "dim")
        out.append(name, styles.WARNING if name.endswith(ALARM_MARK) else "dim")
    out.append(end, "dim")
    return out


def help_lines(ascii_only: bool, sep: str) -> list[Text]:
    """The keys and what they do, a line each, then how to go back."""
    keys = help_keys(ascii_only)  # tui/bindings.py: the keys the decoder and view know
    wide = max(len(k) for k, _what in keys)
    out = [Text("Keys", "bold")]
    out += [Text.assemble(("  " + k.ljust(wide), "bold"), "  " + what) for k, what in keys]
    out.append(Text(f"Esc back{sep}q quit", "dim"))
    return out


MAX_CHECKS: Final = 3
"""Rows of advice the w screen shows for a run, worst first: the rest are in the README."""


def why_lines(frame: Frame, renderer: Renderer, width: int) -> list[Text]:
    """What to check first for a run: its status and culprits, then for each culprit with
    advice (the README's "When a metric is red"), when it applies, what it usually means,
    and what to check first, wrapped to ``width``."""
    name = clean_name(frame.name, renderer.ascii_only)
    why = why_cell(frame, renderer.ascii_only, renderer.critic)
    out = [Text.assemble((name, "bold"), renderer.sep, (frame.health.status.word, why.style))]
    if why.text:
        out += _wrapped(f"why: {why.text}", width, "")
    rows = list(dict.fromkeys(a for _label, a in checks(frame)))[:MAX_CHECKS]
    if not rows:
        out.append(Text("nothing alarms: nothing to check", "dim"))
    for a in rows:
        out.append(Text(""))
        out.append(Text(plain(a.when, renderer.ascii_only), "bold"))
        out += _wrapped(plain(a.means, renderer.ascii_only), width, "  ")
        out += _wrapped("check first: " + plain(a.check, renderer.ascii_only), width, "  ", "bold")
    out.append(Text(f"Esc back{renderer.sep}q quit", "dim"))
    return out


def _wrapped(text: str, width: int, indent: str, first: str = "") -> list[Text]:
    """``text`` in lines of ``width`` cells, each after ``indent``; ``first`` styles the
    words before the first colon."""
    import textwrap

    lines = textwrap.wrap(text, max(width - len(indent), 10)) or [""]
    out = [Text(indent + line) for line in lines]
    head, colon, _rest = lines[0].partition(":")
    if first and colon:
        out[0].stylize(first, len(indent), len(indent) + len(head) + 1)
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
    run: Run,
    view: TableView,
    renderer: Renderer,
    width: int,
    height: int,
    charted: Sequence[Charted],
) -> RenderableType:
    """The selected run's panel with its trend, its charts in the room left, and how to
    get back."""
    trending = copy.copy(renderer)
    trending.trend = True
    panel = trending.boxed(run.frame, view.now, named=True)
    sep = renderer.sep
    up_down, left_right = ("Up/Down", "Left/Right") if renderer.ascii_only else ("↑↓", "←→")
    hint = Text(
        f"Esc back{sep}{up_down} other runs{sep}{left_right} chart{sep}a all{sep}e smooth"
        f"{sep}o every run{sep}? help",
        "dim",
    )
    if not charted:
        return Cropped(panel, hint, width, height)
    return Detailed(panel, view.charts, charted, renderer.ascii_only, hint, width, height)


@dataclass(frozen=True, slots=True)
class Detailed:
    """A run's panel, then its charts in the lines the panel leaves, then a footer."""

    panel: RenderableType
    charts: ChartView
    charted: Sequence[Charted]
    ascii_only: bool
    footer: Text
    width: int
    height: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = self.height - 1 if self.height > 1 else self.height
        lines = console.render_lines(self.panel, options.update(width=self.width, height=None))
        lines = lines[:room]
        from value_diag.render.detail import charts_area

        opened, *others = self.charted
        drawn = charts_area(
            self.charts, opened, others, self.width, room - len(lines), self.ascii_only
        )
        body = Group(_Rendered(lines), *drawn)
        yield Cropped(body, self.footer, self.width, self.height)


@dataclass(frozen=True, slots=True)
class _Rendered:
    """Lines rendered already, drawn as they are."""

    lines: list[list[Segment]]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for line in self.lines:
            yield from line
            yield Segment.line()


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
