"""Snapshot -> the five-line VALUE DIAGNOSTICS text, in Unicode or ASCII glyphs. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from value_diag import health, registry
from value_diag.health import DEFAULT_RULES, Health, Icon, Level, Mark, Rules
from value_diag.render import styles, trends, words
from value_diag.render.sanitize import clean, middle
from value_diag.render.styled import StyledText
from value_diag.render.trends import Plan, Trend
from value_diag.render.words import NUMBER_W, format_number
from value_diag.schema import VALUE_FIELDS, SanctumSnapshot

if TYPE_CHECKING:
    from rich.text import Text

    from value_diag.frame import Frame

LABEL_W: Final = 10  # Label width (characters)
VAL_W: Final = NUMBER_W  # Value width (characters): 8, format_number's default
GAP: Final = 2  # Gap between sub-columns
TIGHT_GAP: Final = 1
"""The gap, and the space after the longest label, when the lines are wider than the screen:
squeezing the padding keeps the glyphs at the end of the lines on screen."""
PCT_W: Final = 6
"""Width of the p10 and p50 numbers: a sign and three significant digits ("-0.123")."""
TIGHT_PCT_W: Final = 4
"""Width of the three percentiles when line 3 is wider than the screen even with the tight
gap: two significant digits ("+13", "-0.5"), so the spread glyph after them stays."""

UNICODE_GLYPHS: Final = {
    Icon.UP: "↗",
    Icon.FLAT: "→",
    Icon.DOWN: "↘",
    Icon.SPREAD: "⚠",
    Icon.CHECK: "✓",
}
ASCII_GLYPHS: Final = {
    Icon.UP: "^",
    Icon.FLAT: "->",
    Icon.DOWN: "v",
    Icon.SPREAD: "!",
    Icon.CHECK: "OK",
}
UNICODE_PROBE: Final = "".join(UNICODE_GLYPHS.values()) + "‼σ…─│╭–±" + trends.SPARK_UNICODE
"""Every non-ASCII character the panel and its border may print."""

TREND_COL: Final = LABEL_W + 2 * (len("p10:") + PCT_W + 1) + len("p90:") + VAL_W + 2 + GAP
"""Column where the trend sparklines start: right of the widest line 3 can be (its three
percentiles and the spread glyph), so that no number moves them."""
TREND_SERIES: Final = (
    (0, "v_return_correlation"),
    (1, "td_error_mean"),
    (5, "return_p50"),
    (7, "return_variance"),
)
"""Per line 1-4, the metric its sparkline draws (its index in a history record, and its
name): V-Corr, TD Mean, p50 and Ret σ (return_variance, drawn as a standard deviation)."""
EV_INDEX: Final = len(VALUE_FIELDS)
"""Where a history record holds its explained variance, when it has one: the sparkline
of the CRITIC CALIBRATION block."""
FIT_LABEL: Final = registry.label(health.FIT)
"""How V-Fit (health.FIT) is named: beside Calib under scale-free, and among culprits."""
FIT_SIGNED: Final = False
"""Whether V-Fit's number is written with a sign (as EV's: no)."""
CRITIC_TITLE: Final = "CRITIC CALIBRATION"
"""The heading of the block --critic adds under the panel (esper-lite's panel title)."""
CRITIC_BLOCK: Final = (
    health.CALIB_CORR,
    "explained_variance",
    "td_error_mean",
    "td_error_std",
    "bellman_error",
    health.SPAN,
    "value_mean",
    "value_std",
    health.CALIB,
)
"""The metrics of the CRITIC CALIBRATION block, in its reading order (two a line)."""
CRITIC_LABELS: Final = tuple(
    registry.BY_NAME[name].block_label or registry.label(name) for name in CRITIC_BLOCK
)

RETURNS: Final = "Returns"
"""The label of line 3, which shows the three percentiles."""
LABEL_STYLE: Final = "dim"
NO_DATA: Final = StyledText("[no data]", style="dim")
ALARM_UNICODE: Final = {Level.WARNING: "!", Level.CRITICAL: "‼"}
ALARM_ASCII: Final = {Level.WARNING: "!", Level.CRITICAL: "!!"}
"""The glyph beside an alarming value, so that a warning and a critical value read apart
without colour (NO_COLOR, a colour-blind reader, a log): "+22.6‼", "0.41→!"."""
NOT_REPORTED: Final = "—"
NOT_REPORTED_ASCII: Final = "-"
"""What a metric of a part the file has not reported shows instead of a number."""


class ValueDiagnosticsPanel:
    """The VALUE DIAGNOSTICS panel of the spec: five lines, two sub-columns."""

    def __init__(
        self,
        *,
        ascii_only: bool = False,
        thresholds: Rules = DEFAULT_RULES,
        trend: bool = False,
        critic: bool = False,
    ):
        self.ascii_only = ascii_only
        self.thresholds = thresholds
        self.trend = trend
        """Add a sparkline of each of lines 1-4's first metric (and EV's with the critic
        block), on the right when there is room, else under the lines."""
        self.critic = critic
        """Add the CRITIC CALIBRATION block under the five lines."""
        self.glyphs = ASCII_GLYPHS if ascii_only else UNICODE_GLYPHS
        self._snapshot: SanctumSnapshot | None = None
        self._unreported: frozenset[str] = frozenset()
        self._history: Sequence[tuple[float | None, ...]] = ()
        self._kept = 0
        self._health: Health | None = None
        self._width: int | None = None
        self._label_w = LABEL_W
        self._gap = GAP
        self._pct_w: int | None = None
        """The percentiles' width when squeezed (TIGHT_PCT_W), else None."""

    def update_snapshot(
        self,
        snapshot: SanctumSnapshot | None,
        unreported: frozenset[str] = frozenset(),
        history: Sequence[tuple[float | None, ...]] = (),
        judged: Health | None = None,
        kept: int = 0,
    ) -> None:
        """Shows this snapshot from the next render on.

        Args:
            snapshot: the latest state, or None before any data.
            unreported: parts ("value_function", "infrastructure") the file has not
                reported yet; they show as not reported instead of as spec defaults.
            history: recent value records (VALUE_FIELDS order, None for a metric a
                record did not give), oldest first, for the trend column.
            judged: the snapshot's health if it was already assessed (a frame's), so
                it is not judged again; else the panel's thresholds judge it.
            kept: the most value records the history holds (--history), so that a
                sparkline has the same width while its history fills up.
        """
        self._snapshot = snapshot
        self._unreported = unreported
        self._history = history
        self._health = judged
        self._kept = kept

    def render(self, width: int | None = None) -> Text:
        """The panel's text, as Rich's Text: five lines that never wrap, or "[no data]".

        Args:
            width: columns available, if known (see ``styled``).
        """
        return self.styled(width).to_rich()

    def styled(self, width: int | None = None) -> StyledText:
        """What ``render`` returns, without importing rich.text (for plain output).

        Args:
            width: columns available, if known: the sparklines take the room there is
                right of the lines, else under them (trends.plan), and lines wider than
                that lose padding first, then the middle of the compile words, so the
                glyphs at their ends stay on screen.
        """
        self._width = width
        if self._snapshot is None:
            return NO_DATA.copy()
        h = self._health
        if h is None:
            h = health.assess(self._snapshot, self._unreported, self.thresholds)
        self._label_w, self._gap, self._pct_w = LABEL_W, GAP, None
        rows = self._rows(h)
        if width is not None and max(row.cell_len for row in rows) > width:
            longest = max(len(label) for label in self._labels())
            self._label_w, self._gap = longest + TIGHT_GAP, TIGHT_GAP
            rows = self._rows(h)
            if rows[2].cell_len > width:
                self._pct_w = TIGHT_PCT_W
                rows = self._rows(h)

        out = StyledText(no_wrap=True, overflow="crop" if self.ascii_only else "ellipsis", end="")
        # One column for the four sparklines, right of the longest line, whatever its numbers.
        column = max(TREND_COL, *(row.cell_len + GAP for row in rows))
        shown = self._trends() if self.trend else []
        layout = None
        if any(t.points for t in shown):
            layout = trends.plan(shown, width, column, self._kept, self.ascii_only)
        right = layout if layout is not None and layout.where == "right" else None
        beside: list[Trend | None] = [*shown[:4]] if shown else [None] * len(rows)
        for row, trend in zip(rows, beside, strict=True):
            out.append_text(row)
            self._beside(out, row, column, trend, right)
            out.append("\n")
        self._label(out, metric_label(health.COMPILE, self.ascii_only))
        self._compile(out, h.marks[health.COMPILE])
        if self.critic:
            self._critic(out, h, column, shown[4] if shown else None, right)
        if layout is not None and layout.where == "below":
            for trend in shown:
                if trend.points:
                    out.append("\n")
                    out.append_text(trends.trend_text(trend, layout, self.ascii_only))
        elif layout is not None and layout.where == "dropped":
            out.append("\n")
            out.append_text(trends.dropped_text(layout))
        return out

    def _beside(
        self, out: StyledText, row: StyledText, column: int, trend: Trend | None, right: Plan | None
    ) -> None:
        """``trend``'s sparkline at ``column``, right of ``row``, when they go there."""
        if right is not None and trend is not None and trend.points:
            out.append(" " * (column - row.cell_len))
            out.append_text(trends.trend_text(trend, right, self.ascii_only))

    def _trends(self) -> list[Trend]:
        """Lines 1-4's sparklines, then EV's with the critic block: each with its name, its
        min-max, and the warning line of the rules in force."""
        rules = self.thresholds
        series = [(i, name, metric_label(name, self.ascii_only)) for i, name in TREND_SERIES]
        if self.critic:
            series.append((EV_INDEX, "explained_variance", metric_label("explained_variance")))
        out = []
        for index, name, label in series:
            points = tuple(
                _sigma(x) if name == "return_variance" else x
                for r in self._history
                if len(r) > index and (x := r[index]) is not None
            )
            line = trends.warning_line(name, rules)
            out.append(Trend(label, points, self._range(points), line, self._line_text(line)))
        return out

    def _range(self, points: Sequence[float]) -> str:
        """A sparkline's min and max, with an en dash ("0.8..0.86" in ASCII)."""
        finite = [x for x in points if math.isfinite(x)]
        if not finite:
            return "non-finite" if points else ""
        lo, hi = (format_number(x, width=trends.NUMBER_W) for x in (min(finite), max(finite)))
        return f"{lo}{'..' if self.ascii_only else '–'}{hi}"

    def _line_text(self, line: trends.WarningLine | None) -> str:
        """How a sparkline's warning line is written: "warn <0.5", "warn ±5", "warn >10"."""
        if line is None:
            return ""
        op = "+-" if self.ascii_only and line.op == "±" else line.op
        return f"warn {op}{format_number(line.at[-1], width=trends.NUMBER_W)}"

    def _labels(self) -> tuple[str, ...]:
        """Every label of the lines, in order: what the tight layout's label width fits."""
        a = self.ascii_only
        four = [metric_label(n, a) for n in ("v_return_correlation", "bellman_error")]
        four += [metric_label(n, a) for n in ("td_error_mean", "td_error_std")]
        five = (*four, RETURNS, metric_label("return_variance", a))
        five += (metric_label("return_skewness", a), metric_label(health.COMPILE, a))
        return (*five, *CRITIC_LABELS) if self.critic else five

    def _critic(
        self, out: StyledText, h: Health, column: int, ev_trend: Trend | None, placed: Plan | None
    ) -> None:
        """The CRITIC CALIBRATION block, in esper-lite's layout, with EV's trend on line 1."""
        v = h.values
        out.append("\n\n")
        out.append(CRITIC_TITLE, "bold")
        rows = [StyledText() for _ in range(4)]
        pairs = (
            ("td_error_mean", True, "td_error_std", False),
            ("bellman_error", False, health.SPAN, False),
            ("value_mean", True, "value_std", False),
        )
        self._label(rows[0], CRITIC_LABELS[0])
        # esper's block warns below 0.6: its own mark, on the same number
        corr = self._number(h, health.CALIB_CORR, v.get("v_return_correlation", math.nan))
        self._cell(rows[0], corr, h, health.CALIB_CORR)
        self._label(rows[0], CRITIC_LABELS[1])
        ev = self._number(h, "explained_variance", v.get("explained_variance", math.nan))
        self._cell(rows[0], ev, h, "explained_variance", last=True)
        for row, (left, left_signed, right, right_signed), labels in zip(
            rows[1:], pairs, ((2, 3), (4, 5), (6, 7)), strict=True
        ):
            self._label(row, CRITIC_LABELS[labels[0]])
            self._cell(row, self._number(h, left, v.get(left, math.nan), left_signed), h, left)
            self._label(row, CRITIC_LABELS[labels[1]])
            right_text = self._number(h, right, v.get(right, math.nan), right_signed)
            self._cell(row, right_text, h, right, last=True)
        for i, row in enumerate(rows):
            out.append("\n")
            out.append_text(row)
            if i == 0:
                self._beside(out, row, column, ev_trend, placed)
        out.append("\n")
        self._label(out, CRITIC_LABELS[-1])
        calib = h.mark(health.CALIB)
        word = health.CALIB_WORDS.get(calib.level, "") + self._alarm(calib)
        if h.preset is not health.Preset.SCALE_FREE:
            self._cell(out, word, h, health.CALIB, last=True)
            return
        self._cell(out, word, h, health.CALIB)
        self._label(out, FIT_LABEL)
        fit = self._number(h, health.FIT, v.get(health.FIT, math.nan), FIT_SIGNED)
        self._cell(out, fit, h, health.FIT, last=True)

    def _rows(self, h: Health) -> list[StyledText]:
        """Lines 1-4, with the label width and gap in force."""
        v, m = h.values, h.marks
        rows = [StyledText() for _ in TREND_SERIES]

        pairs = (  # left and right on lines 1 and 2
            ("v_return_correlation", "bellman_error"),
            ("td_error_mean", "td_error_std"),
        )
        for out, cells in zip(rows, pairs, strict=False):
            for name, last in zip(cells, (False, True), strict=True):
                self._label(out, metric_label(name, self.ascii_only))
                signed = registry.BY_NAME[name].signed
                number = self._number(h, name, v.get(name, math.nan), signed)
                self._cell(out, number, h, name, last=last)

        out = rows[2]
        self._label(out, RETURNS)
        # Each number padded to PCT_W and a space, so p50 and p90 stay where they are
        # whatever the numbers; squeezed (one space) when the lines are wider than the screen.
        pad = 0 if self._gap < GAP else PCT_W
        for name in ("return_p10", "return_p50"):
            number = self._number(h, name, v.get(name, math.nan), True, self._pct_w or PCT_W)
            out.append(f"{metric_label(name)}:{number}", styles.style_of(h, name))
            out.append(" " * (max(pad - len(number), 0) + 1))
        p90 = self._number(
            h, "return_p90", v.get("return_p90", math.nan), True, self._pct_w or VAL_W
        )
        out.append(f"{metric_label('return_p90')}:{p90}", styles.style_of(h, "return_p90"))
        spread = m[health.SPREAD]
        if spread.icon is not None:
            out.append(" " + self._glyph(spread), styles.style_of(h, health.SPREAD))

        out = rows[3]
        self._label(out, self._labels()[5])
        sigma = self._number(h, "return_variance", _sigma(v.get("return_variance", math.nan)))
        self._cell(out, sigma, h, "return_variance")
        self._label(out, metric_label("return_skewness", self.ascii_only))
        skew = self._number(h, "return_skewness", v.get("return_skewness", math.nan), True)
        self._cell(out, skew, h, "return_skewness", last=True)
        return rows

    def _label(self, out: StyledText, label: str) -> None:
        out.append(label.ljust(self._label_w), LABEL_STYLE)

    def _shown(self, number: str, mark: Mark) -> str:
        return not_reported(self.ascii_only) if mark.level is Level.NO_DATA else number

    def _number(
        self, h: Health, name: str, x: float, signed: bool = False, width: int = VAL_W
    ) -> str:
        """Metric ``name``'s number ``x`` as its cell shows it, in ``width`` characters: its
        icon (V-Corr's arrow) and its alarm glyph beside it, or a dash if not reported."""
        mark = h.mark(name)
        if mark.level is Level.NO_DATA:
            return not_reported(self.ascii_only)
        icon, alarm = self._glyph(mark), self._alarm(mark)
        text = format_number(x, signed, width - len(icon) - len(alarm))
        if icon and alarm and len(text) + len(icon) + len(alarm) > width:
            # an extreme number (-1e308): the alarm glyph says what the arrow would
            return format_number(x, signed, width - len(alarm)) + alarm
        return text + icon + alarm

    def _alarm(self, mark: Mark) -> str:
        """The glyph an alarming value carries, which colour does not have to say."""
        return alarm_glyph(mark.level, self.ascii_only)

    def _cell(
        self, out: StyledText, value: str, h: Health, name: str, *, last: bool = False
    ) -> None:
        value = self._shown(value, h.mark(name))
        out.append(value, styles.style_of(h, name))
        if not last:
            out.append(" " * (max(VAL_W - len(value), 0) + self._gap))

    def _glyph(self, mark: Mark) -> str:
        if mark.level is Level.NO_DATA or mark.icon is None:
            return ""
        return self.glyphs[mark.icon]

    def _compile(self, out: StyledText, mark: Mark) -> None:
        if mark.level is Level.NO_DATA:
            out.append("not reported", "dim")
            return
        assert self._snapshot is not None
        infra = self._snapshot.tamiyo.infrastructure
        if infra.compile_enabled:
            words = compile_text(True, infra.compile_backend, infra.compile_mode, self.ascii_only)
            glyph = " " + self._glyph(mark)
            if self._width is not None:  # the check mark, not the words, stays on screen
                room = self._width - self._label_w - len(glyph)
                words = middle(words, max(room, 1), self.ascii_only)
            out.append(words, "green")
            out.append(glyph, "green bold")
        else:
            out.append("EAGER" + self._alarm(mark), styles.mark_style(health.COMPILE, mark))
            out.append(" (3-5x slower)", "dim")


METRICS: Final = {m.name: (m.shown_as(ascii_only=True), m.signed) for m in registry.rows()}
"""Label (ASCII) of each metric in tables and annotations, in panel order, and whether its
number is signed ("+2.4"): every number keeps DIGITS significant digits (format_number).
From the metric registry."""
CRITIC_METRICS: Final = {m.name: (m.label, m.signed) for m in registry.critic_rows()}
"""What --critic adds to tables and annotations: the critic block's own metrics (from the
metric registry)."""
TABLE_W: Final = 12
"""The most characters a number takes in a table or an annotation."""


def critic_shown(frame: Frame) -> bool:
    """Whether the frame's rules show (and count) the CRITIC CALIBRATION block."""
    return frame.rules.critic


def metric_text(name: str, value: float, level: Level = Level.OK) -> str:
    """A metric as the panel prints it (return_variance as its standard deviation, Calib
    as its word)."""
    if name == health.CALIB:
        return health.CALIB_WORDS.get(level, "")
    if name == "return_variance":
        value = _sigma(value)
    if name == health.FIT:
        return format_number(value, FIT_SIGNED, TABLE_W)
    signed = METRICS[name][1] if name in METRICS else CRITIC_METRICS[name][1]
    return format_number(value, signed, TABLE_W)


def compile_text(enabled: bool, backend: str, mode: str, ascii_only: bool = False) -> str:
    """Line 5's words without glyphs: "backend:mode" or "EAGER"."""
    if not enabled:
        return "EAGER"
    backend = clean(backend, ascii_only) or "inductor"
    return f"{backend}:{clean(mode, ascii_only) or 'default'}"


def _sigma(variance: float) -> float:
    """Standard deviation from a variance; NaN for a negative one (never a complex number)."""
    if math.isnan(variance) or variance < 0:
        return math.nan
    return math.sqrt(variance)


def alarm_glyph(level: Level, ascii_only: bool = False) -> str:
    """The glyph beside a value at ``level``: "!" warning, "‼" ("!!" in ASCII) critical,
    nothing otherwise."""
    return (ALARM_ASCII if ascii_only else ALARM_UNICODE).get(level, "")


def not_reported(ascii_only: bool = False) -> str:
    """What stands for the number of a metric the file has not reported."""
    return NOT_REPORTED_ASCII if ascii_only else NOT_REPORTED


def metric_cells(frame: Frame, ascii_only: bool = False) -> list[tuple[str, str, Level]]:
    """(label, value text, level) for every metric and the compile status (then the critic
    block's with --critic, and V-Fit under the scale-free rules).

    A metric of a part the file has not reported shows ``not_reported()``, not a number.
    """
    h = frame.health
    if not h.marks:
        return []
    rows = [_cell(h, name, metric_label(name, ascii_only), ascii_only) for name in METRICS]
    c = frame.state.compile
    words = compile_text(c.enabled, c.backend, c.mode, True) if c else "not reported"
    rows.append((metric_label(health.COMPILE), words, h.marks[health.COMPILE].level))
    if critic_shown(frame):
        rows += [_cell(h, n, label, ascii_only) for n, (label, _) in CRITIC_METRICS.items()]
    if fit_shown(frame):
        rows.append(_cell(h, health.FIT, FIT_LABEL, ascii_only))
    return rows


def cell_names(frame: Frame) -> list[str]:
    """The metric of each row metric_cells() gives, in order."""
    names = [*METRICS, health.COMPILE]
    if critic_shown(frame):
        names += list(CRITIC_METRICS)
    return [*names, health.FIT] if fit_shown(frame) else names


def fit_shown(frame: Frame) -> bool:
    """Whether the rules that judged the frame judge V-Fit (scale-free): reports list it last."""
    return frame.health.preset is health.Preset.SCALE_FREE


def _cell(h: Health, name: str, label: str, ascii_only: bool) -> tuple[str, str, Level]:
    level = h.mark(name).level
    if level is Level.NO_DATA:
        return label, not_reported(ascii_only), level
    return label, metric_text(name, h.values.get(name, 0.0), level), level


def culprits(h: Health, ascii_only: bool = False, critic: bool = False) -> list[str]:
    """The labels of the alarming metrics: critical ones first, each group in panel order,
    after the reason a stale run is critical.

    With ``critic``, the critic block's own metrics too (not Calib, which only sums up).
    """
    stale = [] if h.stale is None else [stale_reason(h.stale)]
    return stale + [metric_label(n, ascii_only) for n in culprit_names(h, critic)]


def culprit_names(h: Health, critic: bool = False) -> list[str]:
    """The alarming metrics' names, in the order ``culprits`` gives their labels."""
    names = [*METRICS, health.COMPILE, health.FIT]
    if critic:
        names += [n for n in CRITIC_METRICS if n != health.CALIB]
    alarming = [n for n in names if h.mark(n).level in health.ALARMS]
    alarming.sort(key=lambda n: h.mark(n).level is not Level.CRITICAL)
    return alarming


def stale_reason(seconds: float) -> str:
    """Why a stale run is critical: "stale: no record for 17m05s", or "stale: age unknown"
    (its file time is ahead of the clock)."""
    if seconds == health.AGE_UNKNOWN:
        return "stale: age unknown"
    return f"stale: no record for {words.span(seconds)}"


def metric_label(name: str, ascii_only: bool = False) -> str:
    """How a metric is named in notes and among culprits (the registry's label)."""
    return registry.label(name, ascii_only)
