"""Several runs in one table, worst first, fitted to the width there is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING, Final, overload

from rich.cells import cell_len

from value_diag import registry
from value_diag.gate import gate
from value_diag.health import AGE_UNKNOWN, ALARMS, Status, reaches
from value_diag.health import COMPILE as COMPILE_METRIC
from value_diag.naming import natural_key
from value_diag.render import styles
from value_diag.render.frames import TITLE, age_style, count
from value_diag.render.panel import (
    CRITIC_METRICS,
    METRICS,
    alarm_glyph,
    cell_names,
    culprits,
    metric_cells,
    metric_label,
    not_reported,
)
from value_diag.render.sanitize import clean, clean_name, middle
from value_diag.render.words import span
from value_diag.voice import voiced

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text

    from value_diag.frame import Frame
    from value_diag.render.frames import Renderer

WORRY: Final = ("critical", "stale", "warning", "no data", "ok")
"""The one order of worry, worst first, in every table, comparison and annotation list: a
dying run, a run that stopped writing (critical under --max-age: hung, crashed, or done),
a worrying one, one that reports nothing, a healthy one."""

RUN: Final = "run"
STATUS: Final = "status"
WHY: Final = "why"
"""The alarming metrics of a run, worst first ("stale" first for a stale run)."""
MAX_WHY: Final = 30
"""Cells the why column takes at most in a terminal table; the culprits that do not fit
are counted ("+3")."""
AGE: Final = "age"
"""How long since a run's last record (once: since its file was last written)."""
STEP: Final = "step"
"""The training step of a run's newest record that named one."""
STALE: Final = "stale"
"""The status word of a run --max-age made stale (critical)."""
COMPILE: Final = "compile"
RECORDS: Final = "records"
BAD: Final = "bad"

ALWAYS: Final = (STATUS, WHY, AGE)
"""Shown right after the run name at any width (when there is such a column)."""
OWN_PRIORITY: Final = {WHY: 0, STEP: 40, BAD: 120, COMPILE: 130, RECORDS: 190}
"""Where the columns that are not a metric's rank among the metrics' (the registry's
``Metric.column``): the culprits before all, the step after TD Std, the bad-line count and
the compile status before the percentiles, the record count last."""
PRIORITY: Final = tuple(
    label
    for label, _rank in sorted(
        {**registry.columns(), **OWN_PRIORITY}.items(), key=lambda item: item[1]
    )
)
"""Which columns a narrow table keeps, most telling first; the last go first. A column
holding a warning or a critical value (or bad lines) in some run comes before every
column that holds none, this order kept within each group. The run name is never left
out, nor the status."""
KEPT: Final = 3
"""Columns of PRIORITY kept however narrow, if the run name can keep MIN_RUN cells."""
MIN_RUN: Final = 12
"""Cells a run name keeps, at least, when the table is fitted (its middle cut out)."""
MAX_COMPILE: Final = 24
"""Cells of the compile column in a terminal table: backend and mode come from the file."""
PAD: Final = 2
"""Cells of padding each column takes in a borderless table."""


def worry(frame: Frame) -> str:
    """Where a run stands in WORRY."""
    h = frame.health
    if h.stale is not None:
        return "stale"
    return h.status.word


def sort_worst_first(frames: list[Frame]) -> list[Frame]:
    """Frames in the order of WORRY, then by name (seed2 before seed10)."""
    return sorted(frames, key=lambda f: (WORRY.index(worry(f)), natural_key(f.name), f.name))


@dataclass(frozen=True, slots=True)
class Cell:
    """One run's entry in a column, whole: the renderers shorten it if they must."""

    text: str
    style: str = ""
    alarm: bool = False
    """A warning or critical value (bold in markdown)."""
    literal: bool = False
    """A string from the file or its name (a code span in markdown)."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the comparison: its header and a cell per run, worst run first."""

    label: str
    cells: Sequence[Cell]
    right: bool = True
    cap: int | None = None
    """Cells the column takes at most in a terminal table (its text's middle cut out)."""
    alarming: bool = field(init=False, compare=False)
    """True if some run has an alarming value in this column."""
    width: int = field(init=False, compare=False)
    """Cells the column needs to show every entry whole (up to its cap)."""
    measured: InitVar[tuple[int, bool] | None] = None
    """Its widest cell's width and whether a cell is an alarm, when the caller counted them
    already (the live table, as runs change): the cells are then not walked."""

    def __post_init__(self, measured: tuple[int, bool] | None) -> None:
        # Measured once, when the column is made: the table asks for the width of a column
        # at each of its rows, and a property would walk every run each time (quadratic).
        if measured is None:
            widest = max([0, *(cell_len(c.text) for c in self.cells)])
            alarming = any(c.alarm for c in self.cells)
        else:
            widest, alarming = measured
        wanted = max(cell_len(self.label), widest)
        cap = wanted if self.cap is None else min(wanted, max(self.cap, cell_len(self.label)))
        object.__setattr__(self, "width", cap)
        object.__setattr__(self, "alarming", alarming)


def columns(frames: list[Frame], ascii_only: bool = False, critic: bool = False) -> list[Column]:
    """Every column of the comparison in display order, the runs worst first."""
    return columns_of(sort_worst_first(frames), ascii_only, critic)


def columns_of(
    ordered: list[Frame], ascii_only: bool = False, critic: bool = False
) -> list[Column]:
    """Every column of the comparison in display order, the runs in the order given."""
    return assemble(labels(critic), [row(f, ascii_only, critic) for f in ordered])


def labels(critic: bool = False) -> list[str]:
    """The comparison's column labels, in display order (``critic``: with --critic's)."""
    metrics = [label for label, _spec in METRICS.values()] + [COMPILE]
    if critic:
        metrics += [label for label, _spec in CRITIC_METRICS.values()]
    return [RUN, STATUS, WHY, AGE, STEP, *metrics, RECORDS, BAD]


def row(frame: Frame, ascii_only: bool = False, critic: bool = False) -> tuple[Cell, ...]:
    """One run's cells, one for each of ``labels(critic)``; the age at the frame's moment."""
    h = frame.health
    dash = Cell(not_reported(ascii_only), styles.NOT_REPORTED)
    step = frame.state.step
    out = [
        Cell(clean_name(frame.name, ascii_only), literal=True),
        status_cell(frame),
        why_cell(frame, ascii_only, critic),
        age_cell(frame, None, ascii_only),
        dash if step is None else Cell(f"{step:,}"),
    ]
    n_metrics = len(labels(critic)) - 7
    cells = metric_cells(frame, ascii_only)
    c = frame.state.compile
    from_file = c is not None and c.enabled  # backend:mode, not a word of ours
    for (_label, value, level), name in zip(cells[:n_metrics], cell_names(frame), strict=False):
        literal = from_file and name == COMPILE_METRIC
        shown = clean(value, ascii_only) if literal else value
        shown += alarm_glyph(level, ascii_only)  # a mark that NO_COLOR keeps
        out.append(Cell(shown, styles.style_of(h, name), level in ALARMS, literal))
    out += [dash] * (n_metrics - min(len(cells), n_metrics))  # nothing reported yet
    st = frame.state
    out.append(Cell(str(st.records)))
    out.append(Cell(str(st.bad_lines), "yellow" if st.bad_lines else "", st.bad_lines > 0))
    return tuple(out)


def status_cell(frame: Frame) -> Cell:
    """The run's status; "stale" for a run --max-age made critical."""
    h = frame.health
    if h.stale is not None:
        return Cell(STALE, styles.CRITICAL, True)
    return Cell(h.status.word, styles.status_style(h.status), h.status in _ALARM_STATUS)


def why_cell(frame: Frame, ascii_only: bool = False, critic: bool = False) -> Cell:
    """The run's culprits, worst first: "stale" for a stale run, then the alarming metrics."""
    h = frame.health
    names = culprits(h, ascii_only, critic)
    if h.stale is not None:
        names[0] = STALE
    style = styles.status_style(h.status) if names else ""
    return Cell(", ".join(names), style, bool(names))


def squeeze(text: str, width: int) -> str:
    """A list "a, b, c, d" in at most ``width`` cells: whole names, the rest counted ("a, b,
    +2", or "+4" when not even the first fits)."""
    if cell_len(text) <= width:
        return text
    names = text.split(", ")
    for kept in range(len(names) - 1, -1, -1):
        shown = ", ".join([*names[:kept], f"+{len(names) - kept}"])
        if cell_len(shown) <= width:
            return shown
    return shown[:width]


def age_cell(frame: Frame, now: float | None, ascii_only: bool = False) -> Cell:
    """How long since the run's last record, to ``now`` (default: the frame's moment)."""
    return Cell(*_age_parts(frame, now, ascii_only))


def _age_parts(frame: Frame, now: float | None, ascii_only: bool) -> tuple[str, str, bool]:
    """The age cell's text, style and alarm."""
    age = frame.age(now)
    if age is None:
        return _age_text(age, ascii_only), styles.NOT_REPORTED, False
    stale = frame.health.stale is not None
    return _age_text(age, ascii_only), styles.CRITICAL if stale else age_style(age), stale


def _age_text(age: float | None, ascii_only: bool) -> str:
    """The age cell's text: a dash for a run with no record yet."""
    return not_reported(ascii_only) if age is None else short_age(age)


def age_column(
    frames: Sequence[Frame], now: float | None, ascii_only: bool = False
) -> tuple[Sequence[Cell], tuple[int, bool]]:
    """Each run's ``age_cell``, and the widest one's width and whether one is an alarm.

    The live table makes the ages again at each redraw, and shows a screenful of them: the
    cells are made as they are asked for (``AgeCells``), and the widest is measured over
    the ages' distinct texts alone, without the cells' styles; whether one is an alarm is
    whether a run is stale."""
    texts = {_age_text(frame.age(now), ascii_only) for frame in frames}
    widest = max((cell_len(text) for text in texts), default=0)
    alarm = any(frame.health.stale is not None for frame in frames)
    return AgeCells(frames, now, ascii_only), (widest, alarm)


class AgeCells(Sequence[Cell]):
    """The ``age_cell`` of each run in an order, made when it is asked for; runs whose ages
    read the same share one cell."""

    def __init__(self, frames: Sequence[Frame], now: float | None, ascii_only: bool) -> None:
        self._frames = frames
        self._now = now
        self._ascii_only = ascii_only
        self._made: dict[tuple[str, str, bool], Cell] = {}

    def __len__(self) -> int:
        return len(self._frames)

    @overload
    def __getitem__(self, index: int) -> Cell: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Cell]: ...
    def __getitem__(self, index: int | slice) -> Cell | Sequence[Cell]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        parts = _age_parts(self._frames[index], self._now, self._ascii_only)
        cell = self._made.get(parts)
        if cell is None:
            cell = self._made[parts] = Cell(*parts)
        return cell


def short_age(seconds: float) -> str:
    """An age in at most six cells: "12s", "4m10s", "2h05m", "3d04h"; "unknown" for a file
    time ahead of the clock."""
    return UNKNOWN_AGE if seconds == AGE_UNKNOWN else span(seconds)


UNKNOWN_AGE: Final = "unknown"
"""The age cell of a run whose file time is ahead of the clock (health.AGE_UNKNOWN)."""


HEADINGS: Final = {label: name for name, (label, _signed) in METRICS.items()}
"""The metric of each column label that is a metric's."""


def heading(label: str, ascii_only: bool = False) -> str:
    """A column's label as shown: a metric's as the panel names it (the return spread with
    the Greek sigma, spelt out with ``ascii_only``), any other as it is."""
    name = HEADINGS.get(label)
    return label if name is None else metric_label(name, ascii_only)


def assemble(
    names: list[str],
    rows: list[tuple[Cell, ...]],
    measures: list[tuple[int, bool]] | None = None,
) -> list[Column]:
    """Rows of cells, one cell per label of ``names``, as the columns of a table;
    ``measures``: each column's widest cell and whether it holds an alarm, if counted."""
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    known: list[tuple[int, bool] | None] = [*measures] if measures else [None] * len(names)
    out = []
    for label, cells, measured in zip(names, by_column, known, strict=True):
        if label in (RUN, STATUS, AGE):
            out.append(Column(label, tuple(cells), right=False, measured=measured))
        elif label == WHY:
            out.append(Column(label, tuple(cells), right=False, cap=MAX_WHY, measured=measured))
        elif label == COMPILE:
            column = Column(label, tuple(cells), right=False, cap=MAX_COMPILE, measured=measured)
            out.append(column)
        else:
            out.append(Column(label, tuple(cells), measured=measured))
    return out


_ALARM_STATUS: Final = frozenset({Status.WARNING, Status.CRITICAL})


def _rank(column: Column, always: tuple[str, ...]) -> tuple[int, int]:
    if column.label in always:
        return (0, always.index(column.label))
    return (1 if column.alarming else 2, PRIORITY.index(column.label))


@dataclass(frozen=True, slots=True)
class Fitted:
    """The columns a width leaves, in display order, and the labels of those left out."""

    shown: list[Column]
    hidden: list[str]
    run_width: int
    alarms: frozenset[str] = frozenset()
    """The hidden columns that hold a warning or a critical value in some run."""


def fit(cols: list[Column], width: int | None, always: tuple[str, ...] = ALWAYS) -> Fitted:
    """The columns that fit in ``width`` cells, whole, the least telling left out first.

    The run name is always first and never left out: it gets what the status and the
    KEPT most telling columns leave (at least MIN_RUN cells), then every other column is
    added in priority order until the next one does not fit; whatever room is left goes
    back to the run name. ``width`` None: every column, the run names whole. ``always``
    names the columns kept at any width, in that order (a column neither there nor in
    PRIORITY cannot be fitted).
    """
    run, rest = cols[0], cols[1:]
    if width is None:
        return Fitted(cols, [], run.width)
    order = sorted(rest, key=lambda c: _rank(c, always))
    must = [c for c in order if c.label in always]
    first = must + [c for c in order if c.label not in always][:KEPT]
    room = width - PAD - sum(c.width + PAD for c in first)
    run_w = min(run.width, max(room, MIN_RUN))
    used = run_w + PAD
    shown: list[Column] = []
    for column in order:
        need = column.width + PAD
        if used + need > width and column not in must:
            break
        shown.append(column)
        used += need
    run_w = min(run.width, run_w + max(width - used, 0))
    kept = [run] + [c for c in rest if c in shown]
    hidden = [c for c in rest if c not in shown]
    alarms = frozenset(c.label for c in hidden if c.alarming)
    return Fitted(kept, [c.label for c in hidden], run_w, alarms)


def compare(frames: list[Frame], renderer: Renderer, width: int | None = None) -> RenderableType:
    """One row per run, one column per metric, styled by level, worst run first.

    With ``width``, whole columns are left out (see PRIORITY) until the table fits, and a
    footer names them; a run name too long for what is left loses its middle.
    """
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    fitted = fit(columns(frames, renderer.ascii_only, renderer.critic), width)
    read = renderer.config_read()
    title = f"{TITLE}: {count(len(frames), 'run')}" + ("" if read is None else renderer.sep + read)
    table = Table(title=title, title_justify="left", box=None)
    for column in fitted.shown:
        wide = fitted.run_width if column.label == RUN else column.width
        table.add_column(
            heading(column.label, renderer.ascii_only),
            justify="right" if column.right else "left",
            no_wrap=True,
            width=wide,
            overflow="crop",
        )
    for i in range(len(frames)):
        row: list[RenderableType] = []
        for column in fitted.shown:
            cell = column.cells[i]
            wide = fitted.run_width if column.label == RUN else column.width
            row.append(Text(fitted_text(column, cell, wide, renderer.ascii_only), cell.style))
        table.add_row(*row)
    if not fitted.hidden:
        return table
    return Group(table, footer(fitted.hidden, width, fitted.alarms, renderer.ascii_only))


def fitted_text(column: Column, cell: Cell, width: int, ascii_only: bool) -> str:
    """A cell's text in a column ``width`` cells wide: the why list counted where it is cut,
    run names and other capped texts without their middle."""
    if column.label == WHY:
        return squeeze(cell.text, width)
    if column.label == RUN or column.cap is not None:
        return middle(cell.text, width, ascii_only)
    return cell.text


ALARM_MARK: Final = "!"
"""Beside a hidden column's label in a footer: some run has an alarm in it."""


def hidden_labels(hidden: list[str], alarms: frozenset[str], ascii_only: bool = False) -> list[str]:
    """The hidden columns' labels as shown, those holding an alarm first and marked."""
    marked = [f"{heading(label, ascii_only)}{ALARM_MARK}" for label in hidden if label in alarms]
    return marked + [heading(label, ascii_only) for label in hidden if label not in alarms]


def footer(
    hidden: list[str],
    width: int | None,
    alarms: frozenset[str] = frozenset(),
    ascii_only: bool = False,
) -> Text:
    """Which columns are left out, those holding an alarm first and marked, in lines of
    ``width`` broken between labels only."""
    from rich.text import Text

    said = f"not shown at {width} columns:"
    names = hidden_labels(hidden, alarms, ascii_only)
    if alarms:
        names[-1] += f" ({ALARM_MARK} holds an alarm)"
    words = [*said.split(), *(f"{label}," for label in names[:-1]), names[-1]]
    lines = [words[0]]
    for word in words[1:]:
        if width is not None and cell_len(lines[-1]) + 1 + cell_len(word) > width:
            lines.append(word)
        else:
            lines[-1] += " " + word
    return Text("\n".join(lines), "dim", no_wrap=True, overflow="crop")


def failing(frames: list[Frame], fail_on: Status | None) -> list[Frame]:
    """The runs whose status reaches ``fail_on``, worst first."""
    return [f for f in sort_worst_first(frames) if reaches(gate(f).level, fail_on)]


def count_line(frames: list[Frame], fail_on: Status, fail_count: int, ascii_only: bool) -> str:
    """The stderr line of a sweep judged by --fail-count: how many runs reached the level
    of how many, against what count, and their names."""
    failed = failing(frames, fail_on)
    names = ", ".join(clean_name(f.name, ascii_only) for f in failed)
    said = f"{len(failed)} of {count(len(frames), 'run')} reached {fail_on.value}"
    if len(failed) >= fail_count:
        return voiced(f"{said} (--fail-count {fail_count}): {names}")
    return voiced(f"{said}, fewer than --fail-count {fail_count}: {names}")
