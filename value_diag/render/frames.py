"""Frames to text: a bordered panel for a terminal, plain lines for a log."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from rich.cells import cell_len

from value_diag import health
from value_diag.frame import Frame, unreported
from value_diag.health import (
    DEFAULT_ORIGIN,
    WRITER_PRESET,
    Level,
    Preset,
    Status,
    reaches,
)
from value_diag.options import Format
from value_diag.render import styles
from value_diag.render.advice import ADVICE_LABELS, checks, plain
from value_diag.render.panel import (
    FIT_LABEL,
    FIT_SIGNED,
    ValueDiagnosticsPanel,
    cell_names,
    culprits,
    metric_cells,
    metric_label,
)
from value_diag.render.sanitize import clean, clean_name, middle
from value_diag.render.styled import StyledText
from value_diag.render.words import count as count
from value_diag.render.words import format_number, span
from value_diag.schema import VALUE_FIELDS
from value_diag.state import to_snapshot

if TYPE_CHECKING:
    from rich.console import RenderableType

    from value_diag.gate import Gate
    from value_diag.render.boxed import Boxed

TITLE: Final = "VALUE DIAGNOSTICS"
MAX_CULPRITS: Final = 3
"""Alarming metrics a header names; more are counted ("+2"), so the header stays short."""
MIN_SOURCE: Final = 8
"""Cells a source name keeps, at least, when a caption or title is shortened to fit."""
MIN_TITLE: Final = 6
"""Fewer cells than this for TITLE beside the status word: the status word alone."""


def why(names: list[str], k: int) -> str:
    """The first ``k`` culprits, the others counted: "V-Corr, Bellman, TD Mean, +4"."""
    shown = names[:k]
    if len(names) > len(shown):
        shown.append(f"+{len(names) - len(shown)}")
    return ", ".join(shown)


AGE_UNKNOWN_TEXT: Final = "age unknown"
"""What stands for the age of a run whose file time is ahead of the clock (health.AGE_UNKNOWN)."""


def age_text(seconds: float) -> str:
    """How long since the last record: "updated 3s ago", "updated 4m10s ago" (words.span);
    "age unknown" for a file time ahead of the clock."""
    if seconds == health.AGE_UNKNOWN:
        return AGE_UNKNOWN_TEXT
    return f"updated {span(seconds)} ago"


def age_style(seconds: float) -> str:
    """Yellow after a minute without records, red after five (health.age_level)."""
    level = health.age_level(seconds)
    if level is Level.CRITICAL:
        return styles.CRITICAL
    if level is Level.WARNING:
        return styles.WARNING
    return "dim"


class Renderer:
    """Turns frames into text, panels or JSON with one set of display options."""

    def __init__(
        self,
        *,
        ascii_only: bool = False,
        critic: bool = False,
        trend: bool = False,
        thresholds_from: str = DEFAULT_ORIGIN,
    ) -> None:
        self.ascii_only = ascii_only
        self.trend = trend
        self.thresholds_from = thresholds_from
        """The config file the thresholds were read from, or "default" (for the caption;
        a frame carries the rules that judged it)."""
        self.critic = critic
        """Show the CRITIC CALIBRATION block (--critic)."""
        self.sep = " | " if ascii_only else " · "
        self._ellipsis = "." if ascii_only else "…"

    def config_read(self) -> str | None:
        """What says a config file set the thresholds ("thresholds from pyproject.toml"),
        else None: one found in the working directory may come with an untrusted checkout."""
        if self.thresholds_from == DEFAULT_ORIGIN:
            return None
        name = self.thresholds_from.replace("\\", "/").rpartition("/")[2]
        return f"thresholds from {clean(name, self.ascii_only)}"

    def body(self, frame: Frame, width: int | None = None) -> StyledText:
        """The five panel lines (or "[no data]") of a frame, fitted to ``width`` if given."""
        panel = ValueDiagnosticsPanel(
            ascii_only=self.ascii_only,
            thresholds=frame.rules,  # the rules that judged it draw the trends' warning lines
            trend=self.trend,
            critic=self.critic,
        )
        st = frame.state
        panel.update_snapshot(
            to_snapshot(st), unreported(st), st.history, judged=frame.health, kept=st.history_len
        )
        out = panel.styled(width)
        fit = self.fit_line(frame)
        if fit is not None:
            out.no_wrap, out.overflow = True, "crop" if self.ascii_only else "ellipsis"
            out.append("\n")
            out.append(fit, styles.style_of(frame.health, health.FIT))
        for note in (self.note(frame), self.carried(frame), *self.limits(frame, width)):
            if note:
                out.no_wrap, out.overflow = True, "crop" if self.ascii_only else "ellipsis"
                out.append("\n")
                out.append(note, "dim")
        if frame.hint:
            # One line, cut like the panel's: a hint is not worth a screenful when narrow.
            out.no_wrap, out.overflow = True, "crop" if self.ascii_only else "ellipsis"
            out.append("\n")
            out.append(frame.hint, "dim")
        return out

    def limits(self, frame: Frame, width: int | None = None) -> tuple[str, ...]:
        """What a trainer's own log cannot give, and the hook that would (render/limits.py):
        one line, or two where ``width`` is too narrow for one (the hook then starts the
        second, so a crop does not take it)."""
        if frame.limits is None:
            return ()
        from value_diag.render.limits import limits_parts

        parts = limits_parts(frame.limits, self.ascii_only, self.critic)
        line = " ".join(parts)
        return (line,) if width is None or cell_len(line) <= width else parts

    def fit_line(self, frame: Frame) -> str | None:
        """V-Fit, under the five lines when it alarms and no CRITIC CALIBRATION block shows
        it: the scale-free rules' verdict on the critic, which has no cell of its own."""
        h = frame.health
        mark = h.mark(health.FIT)
        if self.critic or mark.level not in health.ALARMS:
            return None
        value = format_number(h.values.get(health.FIT, math.nan), FIT_SIGNED)
        return f"{FIT_LABEL} {value} {mark.level.value}: {health.fit_reason(mark)}"

    def note(self, frame: Frame) -> str | None:
        """What the marks' notes say: why metrics shown are not judged ("low return
        variance: V-Corr, EV shown as info"), and why others are judged as they are
        ("impossible: a standard deviation is never negative: TD Std")."""
        h = frame.health
        if not h.marks:
            return None
        labels: dict[tuple[str, bool], list[str]] = {}
        for name, (label, _value, level) in zip(
            cell_names(frame), metric_cells(frame, self.ascii_only), strict=True
        ):
            note = h.mark(name).note
            if note:
                labels.setdefault((note, level is Level.INFO), []).append(label)
        if not labels:
            return None
        return "; ".join(
            f"{note}: {', '.join(names)}" + (" shown as info" if info else "")
            for (note, info), names in labels.items()
        )

    def first_check(self, frame: Frame) -> str | None:
        """What to check first for a frame's worst culprit, in one line (the README's "When
        a metric is red"; the live view's w key shows every row); None without an alarm."""
        rows = checks(frame)
        if not rows:
            return None
        name, row = rows[0]
        label = ADVICE_LABELS.get(name) or metric_label(name, self.ascii_only)
        return f"check first ({label}): {plain(row.check, self.ascii_only)}"

    def carried(self, frame: Frame) -> str | None:
        """Which of the values shown the newest update did not report, and how old they
        are: "V-Corr, TD Mean: last reported 2 updates ago"."""
        st = frame.state
        by_age: dict[int, list[str]] = {}
        for i, name in enumerate(VALUE_FIELDS):
            ago = st.updates_ago(i)
            if ago:
                by_age.setdefault(ago, []).append(metric_label(name, self.ascii_only))
        return (
            "; ".join(
                f"{', '.join(names)}: last reported {count(ago, 'update')} ago"
                for ago, names in sorted(by_age.items())
            )
            or None
        )

    def caption(
        self,
        frame: Frame,
        now: float | None = None,
        *,
        sep: str | None = None,
        width: int | None = None,
    ) -> StyledText:
        """Source, step, the config file read (if one was), counts, the last error, what
        happened to the file, and the age.

        The age is counted to ``now``, else to the frame's moment. With ``width``, the
        parts that judge the run least go first until it fits: the last error's text,
        the record count, the bad-line count, the step, the word "updated", then the
        middle of the source name; the note and the age (a hung run's signal) stay.
        """
        sep = self.sep if sep is None else sep
        shown = self._caption(frame, now, sep, 0, None)
        if width is None:
            return shown
        for drop in range(6):
            shown = self._caption(frame, now, sep, drop, None)
            if shown.cell_len <= width:
                return shown
        room = width - (shown.cell_len - cell_len(clean_name(frame.name, self.ascii_only)))
        return self._caption(frame, now, sep, 5, max(room, MIN_SOURCE))

    def _caption(
        self, frame: Frame, now: float | None, sep: str, drop: int, source_w: int | None
    ) -> StyledText:
        """The caption without its ``drop`` least telling parts, the source in ``source_w``."""
        st = frame.state
        source = clean_name(frame.name, self.ascii_only)
        if source_w is not None:
            source = middle(source, source_w, self.ascii_only)
        out = StyledText(source, style="bold")
        if st.step is not None and drop < 4:
            out.append(f"{sep}step {st.step:,}")
        rules = frame.rules
        if rules.preset is not Preset.DEFAULT and drop < 4:
            why = rules.preset_from
            chose = why.startswith(WRITER_PRESET) and drop < 1
            out.append(
                f"{sep}{rules.preset.value}"
                + (f" ({clean(why, self.ascii_only)})" if chose else "")
            )
        read = self.config_read()
        if read is not None and drop < 4:
            out.append(f"{sep}{read}")
        if drop < 2:
            out.append(f"{sep}{count(st.records, 'record')}")
        if drop < 3:
            out.append(sep)
            out.append(count(st.bad_lines, "bad line"), "yellow" if st.bad_lines else "")
        if st.last_error and drop < 1:
            out.append(f" (last: {clean(st.last_error, self.ascii_only)})", "yellow")
        if frame.note:
            out.append(sep)
            out.append(clean(frame.note, self.ascii_only), "yellow")
        age = frame.age(now)
        if age is not None:
            out.append(sep)
            text = age_text(age) if drop < 5 else age_text(age).removeprefix("updated ")
            out.append(text, styles.CRITICAL if frame.health.stale else age_style(age))
        return out

    def title(self, frame: Frame, named: bool = False, width: int | None = None) -> StyledText:
        """TITLE, the source's name if ``named``, the status word and what caused it: the
        panel's verdict and why ("VALUE DIAGNOSTICS · critical: V-Corr, Bellman, TD Mean, +4").

        With ``width``, what says least goes first: the middle of the name (down to
        MIN_SOURCE), then the culprits one by one from the last (counted: "+5"), then
        TITLE, shortened then left out; the status word and the worst culprit stay longest.
        """
        names = culprits(frame.health, self.ascii_only, self.critic)
        source = clean_name(frame.name, self.ascii_only) if named else None
        shown = self._title(frame, TITLE, source, names, MAX_CULPRITS)
        if width is None or shown.cell_len <= width:
            return shown
        for k in range(min(len(names), MAX_CULPRITS), 0, -1) or (0,):
            shown = self._title(frame, TITLE, source, names, k)
            if source is not None and shown.cell_len > width:  # the name gives way first
                room = width - (shown.cell_len - cell_len(source))
                cut = middle(source, max(room, MIN_SOURCE), self.ascii_only)
                shown = self._title(frame, TITLE, cut, names, k)
            if shown.cell_len <= width:
                return shown
        k = min(len(names), 1)
        short = None if source is None else middle(source, MIN_SOURCE, self.ascii_only)
        room = width - (self._title(frame, "T", short, names, k).cell_len - 1)
        if room >= MIN_TITLE:  # TITLE shortened: "VALUE DIAG…"
            return self._title(frame, TITLE[: room - 1] + self._ellipsis, short, names, k)
        for candidate in (
            self._title(frame, None, short, names, k),
            self._title(frame, None, None, names, k),
        ):
            if candidate.cell_len <= width:
                return candidate
        return StyledText(frame.health.status.word, styles.status_style(frame.health.status))

    def _title(
        self, frame: Frame, title: str | None, source: str | None, names: list[str], k: int
    ) -> StyledText:
        """``title`` (None: left out), ``source`` if given, the status word and the first
        ``k`` culprits of ``names``, the others counted."""
        status = frame.health.status
        out = StyledText()
        if title is not None:
            out.append(title, "bold")
        if source is not None:
            out.append(f": {source}" if title else source, "bold")
        if out.plain:
            out.append(self.sep)
        out.append(status.word, styles.status_style(status))
        if names:
            out.append(": " + why(names, k), styles.status_style(status))
        return out

    def boxed(self, frame: Frame, now: float | None = None, named: bool = False) -> Boxed:
        """The bordered panel for a terminal, its border in the colour of the status."""
        from rich.box import ASCII, ROUNDED

        from value_diag.render.boxed import Boxed

        return Boxed(
            lambda width: self.body(frame, width),
            lambda width: self.title(frame, named, width),
            lambda width: self.caption(frame, now, width=width),
            ASCII if self.ascii_only else ROUNDED,
            styles.status_style(frame.health.status),
        )

    def stacked(self, frames: list[Frame], now: float | None = None) -> RenderableType:
        """Several sources, one panel each, titled with their paths."""
        if len(frames) == 1:
            return self.boxed(frames[0], now)
        from rich.console import Group  # terminals only

        return Group(*(self.boxed(f, now, named=True) for f in frames))

    def header(self, frame: Frame, title: str = TITLE) -> StyledText:
        """TITLE, the status and what caused it: "critical: V-Corr, Bellman, Skew, +2"."""
        h = frame.health
        out = StyledText(title, "bold")
        out.append(" | ")
        out.append(h.status.word, styles.status_style(h.status))
        names = culprits(h, self.ascii_only, self.critic)
        if names:
            out.append(": " + why(names, MAX_CULPRITS), styles.status_style(h.status))
        return out

    def plain(self, frame: Frame, now: float | None = None, width: int | None = None) -> StyledText:
        """For a log: a header line, then the five lines from column 0, no border.

        With ``width`` (a terminal that cannot redraw), the caption and the lines are
        fitted to it as in a panel; the title gives way before the source or the age.
        """
        out = StyledText(end="")
        head = self.header(frame)
        room = None if width is None else width - head.cell_len - 3
        caption = self.caption(frame, now, sep=" | ", width=room)
        if width is not None and room is not None and caption.cell_len > room:
            need = self._caption(frame, now, " | ", 5, None).cell_len  # all that judges
            keep = max(MIN_TITLE, len(TITLE) - (need - room)) - 1
            head = self.header(frame, TITLE[:keep] + self._ellipsis)
            caption = self.caption(frame, now, sep=" | ", width=width - head.cell_len - 3)
        out.append_text(head)
        out.append(" | ")
        out.append_text(caption)
        out.append("\n")
        out.append_text(self.body(frame, width))
        return out

    def verdict(self, frame: Frame, fail_on: Status) -> str:
        """The stderr line of a run that ends the process: its name, status and culprits."""
        from value_diag.gate import gate
        from value_diag.voice import voiced

        fired = gate(frame)
        held = f", {fired.held} updates in a row" if frame.rules.gate[1] > 1 and fired.held else ""
        names = ", ".join(culprits(frame.health, self.ascii_only, self.critic))
        source = clean_name(frame.name, self.ascii_only)
        level = fired.level.value
        return voiced(f"{source} reached {level} (--fail-on {fail_on.value}{held}): {names}")

    def held_back(self, frame: Frame, fail_on: Status, fired: Gate) -> str | None:
        """The stderr line of a run shown at --fail-on's level or worse that its gate
        (``fired``) does not fire: the warm-up, or a level that has not held yet; else None."""
        from value_diag.voice import voiced

        status = frame.health.status
        if not reaches(status, fail_on) or reaches(fired.level, fail_on) or fired.why is None:
            return None
        source = clean_name(frame.name, self.ascii_only)
        return voiced(
            f"{source} is {status.value}, not fired by --fail-on {fail_on.value}: {fired.why}"
        )

    def json_line(self, frame: Frame) -> str:
        """The frame as one line of strict JSON, ASCII only (non-finite numbers as strings)."""
        from value_diag.render.jsonframe import dumps, to_json  # text frames do not need it

        return dumps(to_json(frame, trend=self.trend, thresholds_from=self.thresholds_from))

    def text(self, frame: Frame, fmt: Format) -> str:
        """A frame in one of the report formats (json, github, markdown)."""
        if fmt is Format.JSON:
            return self.json_line(frame)
        from value_diag.render.github import github
        from value_diag.render.markdown import markdown

        if fmt is Format.GITHUB:
            return "\n".join(github(frame))
        return markdown(frame, self.ascii_only)
