"""Frames to text: a bordered panel for a terminal, plain lines for a log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from rich.console import (
    Console,
    ConsoleOptions,
    Group,
    RenderableType,
    RenderResult,
)
from rich.text import Text

from value_diag import health
from value_diag.frame import Frame, assess, unreported
from value_diag.health import DEFAULT_THRESHOLDS, Thresholds
from value_diag.options import Format
from value_diag.render.jsonframe import DEFAULT_ORIGIN, dumps, to_json
from value_diag.render.panel import ValueDiagnosticsPanel
from value_diag.render.sanitize import clean
from value_diag.state import to_snapshot

if TYPE_CHECKING:
    from rich.box import Box

TITLE: Final = "VALUE DIAGNOSTICS"
STALE_WARNING_S: Final = 60.0
"""Seconds without a record after which the age of the last update turns yellow."""
STALE_CRITICAL_S: Final = 300.0
"""Seconds without a record after which it turns red: the run may be hung."""


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def age_text(seconds: float) -> str:
    """'updated 3s ago', '4m 10s', '2h 5m': how long since the last record."""
    s = max(0, int(seconds))
    if s < 60:
        return f"updated {s}s ago"
    if s < 3600:
        return f"updated {s // 60}m {s % 60:02d}s ago"
    return f"updated {s // 3600}h {s % 3600 // 60:02d}m ago"


def age_style(seconds: float) -> str:
    """Yellow after a minute without records, red after five."""
    if seconds >= STALE_CRITICAL_S:
        return health.CRITICAL_STYLE
    if seconds >= STALE_WARNING_S:
        return health.WARNING_STYLE
    return "dim"


@dataclass(frozen=True, slots=True)
class Boxed:
    """A panel as wide as its body or its caption needs, but never wider than the screen."""

    body: Callable[[int | None], Text]
    """The panel lines for a given inner width."""
    title: Text
    caption: Text
    box: Box

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        body = self.body(options.max_width - 4)  # inside the border and its padding
        inner = max((line.cell_len for line in body.split("\n")), default=0)
        wanted = max(inner, self.caption.cell_len + 4, self.title.cell_len + 4) + 4
        from rich.panel import Panel  # only terminals draw borders

        yield Panel(
            body,
            title=self.title,
            subtitle=self.caption,
            subtitle_align="left",
            box=self.box,
            expand=True,
            width=min(wanted, options.max_width),
        )


class Renderer:
    """Turns frames into text, panels or JSON with one set of display options."""

    def __init__(
        self,
        *,
        ascii_only: bool = False,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        trend: bool = False,
        thresholds_from: str = DEFAULT_ORIGIN,
    ) -> None:
        self.ascii_only = ascii_only
        self.thresholds = thresholds
        self.trend = trend
        self.thresholds_from = thresholds_from
        """The config file the thresholds were read from, or "default"."""
        self.sep = " | " if ascii_only else " · "

    def body(self, frame: Frame, width: int | None = None) -> Text:
        """The five panel lines (or "[no data]") of a frame, fitted to ``width`` if given."""
        panel = ValueDiagnosticsPanel(
            ascii_only=self.ascii_only, thresholds=self.thresholds, trend=self.trend
        )
        st = frame.state
        panel.update_snapshot(to_snapshot(st), unreported(st), st.history)
        return panel.render(width)

    def caption(self, frame: Frame, now: float | None = None, *, sep: str | None = None) -> Text:
        """Source, counts, the last error, what happened to the file, and the age."""
        sep = self.sep if sep is None else sep
        st = frame.state
        out = Text(clean(frame.source, self.ascii_only), style="bold")
        out.append(f"{sep}{_count(st.records, 'record')}{sep}")
        out.append(_count(st.bad_lines, "bad line"), "yellow" if st.bad_lines else "")
        if st.last_error:
            out.append(f" (last: {clean(st.last_error, self.ascii_only)})", "yellow")
        if frame.note:
            out.append(sep)
            out.append(clean(frame.note, self.ascii_only), "yellow")
        if now is not None and st.last_update is not None:
            age = now - st.last_update
            out.append(sep)
            out.append(age_text(age), age_style(age))
        return out

    def boxed(self, frame: Frame, now: float | None = None, title: str = TITLE) -> Boxed:
        """The bordered panel for a terminal."""
        from rich.box import ASCII, ROUNDED

        return Boxed(
            lambda width: self.body(frame, width),
            Text(title, style="bold"),
            self.caption(frame, now),
            ASCII if self.ascii_only else ROUNDED,
        )

    def stacked(self, frames: list[Frame], now: float | None = None) -> RenderableType:
        """Several sources, one panel each, titled with their paths."""
        if len(frames) == 1:
            return self.boxed(frames[0], now)
        return Group(
            *(self.boxed(f, now, f"{TITLE}: {clean(f.source, self.ascii_only)}") for f in frames)
        )

    def plain(self, frame: Frame, now: float | None = None) -> Text:
        """For a log: a header line, then the five lines from column 0, no border."""
        h = assess(frame.state, self.thresholds)
        out = Text(end="")
        out.append(TITLE, "bold")
        out.append(" | ")
        out.append(h.status.value, status_style(h.status))
        out.append(" | ")
        out.append_text(self.caption(frame, now, sep=" | "))
        out.append("\n")
        out.append_text(self.body(frame))
        return out

    def json_line(self, frame: Frame) -> str:
        """The frame as one line of strict JSON, ASCII only (non-finite numbers as strings)."""
        return dumps(
            to_json(frame, self.thresholds, trend=self.trend, thresholds_from=self.thresholds_from)
        )

    def text(self, frame: Frame, fmt: Format) -> str:
        """A frame in one of the report formats (json, github, markdown)."""
        if fmt is Format.JSON:
            return self.json_line(frame)
        from value_diag.render.github import github
        from value_diag.render.markdown import markdown

        if fmt is Format.GITHUB:
            return "\n".join(github(frame, self.thresholds))
        return markdown(frame, self.thresholds)


def status_style(status: health.Status) -> str:
    """The colour of a status word."""
    return {
        health.Status.CRITICAL: health.CRITICAL_STYLE,
        health.Status.WARNING: health.WARNING_STYLE,
        health.Status.OK: "green",
    }.get(status, "dim")
