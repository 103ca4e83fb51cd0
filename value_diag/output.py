"""Frames to text: a bordered panel for a terminal, plain lines for a log, or JSON."""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any, Final

from rich.console import (
    Console,
    ConsoleOptions,
    Group,
    RenderableType,
    RenderResult,
)
from rich.text import Text

from value_diag import health
from value_diag.fold import FoldState, to_snapshot
from value_diag.health import DEFAULT_THRESHOLDS, Health, Level, Thresholds
from value_diag.panel import UNICODE_PROBE, ValueDiagnosticsPanel, clean
from value_diag.schema import VALUE_FIELDS

if TYPE_CHECKING:
    from rich.box import Box

TITLE: Final = "VALUE DIAGNOSTICS"
DEFAULT_ORIGIN: Final = "default"
"""The JSON "thresholds" of the built-in thresholds (else it is the config file's path)."""
SURROGATE: Final = re.compile("[\ud800-\udfff]")
REPLACEMENT: Final = "\ufffd"
STALE_WARNING_S: Final = 60.0
"""Seconds without a record after which the age of the last update turns yellow."""
STALE_CRITICAL_S: Final = 300.0
"""Seconds without a record after which it turns red: the run may be hung."""


class Format(StrEnum):
    """What a frame is printed as."""

    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    MARKDOWN = "markdown"


class ColorMode(StrEnum):
    """When to colour: on a terminal only, always, or never."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class Frame:
    """One source's state at one moment, with what happened to the file, if anything."""

    source: str
    state: FoldState
    note: str | None = None


def unreported(state: FoldState) -> frozenset[str]:
    """The parts of the snapshot the file has not reported (so they are not judged)."""
    parts = set()
    if state.values is None:
        parts.add(health.VALUE_PART)
    if state.compile is None:
        parts.add(health.INFRA_PART)
    return frozenset(parts)


def assess(state: FoldState, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Health:
    """The health of a folded state."""
    return health.assess(to_snapshot(state), unreported(state), thresholds)


class _Console(Console):
    """A console whose reader may leave early (`| head`): output stops, the code stays."""

    def on_broken_pipe(self) -> None:
        """Silences stdout and lets the caller decide the exit code (Rich would exit 1)."""
        self.quiet = True
        silence_stdout()
        raise BrokenPipeError


def silence_stdout() -> None:
    """Points stdout at /dev/null, so nothing more (nor the flush at exit) can fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (ValueError, OSError):
        pass


def make_console(
    color: ColorMode = ColorMode.AUTO, file: IO[str] | None = None, width: int | None = None
) -> Console:
    """A console that never interprets markup, emoji codes or highlights data."""
    force: bool | None = None
    no_color: bool | None = None
    if color is ColorMode.ALWAYS:
        force, no_color = True, False
    elif color is ColorMode.NEVER:
        no_color = True
    console = _Console(
        file=file,
        force_terminal=force,
        no_color=no_color,
        color_system=None if color is ColorMode.NEVER else "auto",
        markup=False,
        emoji=False,
        highlight=False,
        width=width,
        soft_wrap=False,
    )
    if width is None and console.is_dumb_terminal:
        # Rich takes any TERM=dumb terminal to be 80x25; its real size is known all the same.
        try:
            columns, lines = os.get_terminal_size(console.file.fileno())
        except (AttributeError, ValueError, OSError):
            columns = lines = 0
        if columns > 0 and lines > 0:
            console.size = (columns, lines)
    return console


def is_tty(stream: IO[str] | None = None) -> bool:
    """Whether frames go to a terminal (and so get a border and redraw in place)."""
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False


def can_encode_unicode(stream: IO[str] | None = None) -> bool:
    """Whether the output encoding can print the panel's Unicode glyphs."""
    stream = stream or sys.stdout
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        UNICODE_PROBE.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def ascii_locale() -> bool:
    """Whether the user's locale is C or POSIX (or another without UTF-8).

    Python writes UTF-8 under such a locale all the same (its UTF-8 mode, PEP 540, turns
    itself on), so the stream's encoding does not tell; the terminal is set up for ASCII.
    A UTF-8 mode or encoding asked for explicitly is taken at its word.
    """
    if not sys.flags.utf8_mode or "utf8" in sys._xoptions:
        return False
    if os.environ.get("PYTHONUTF8") or os.environ.get("PYTHONIOENCODING"):
        return False
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        name = os.environ.get(var, "")
        if var == "LC_CTYPE" and name == "C.UTF-8":
            continue  # set by Python itself when it coerced a C locale (PEP 538)
        if name:
            return not any(tag in name.lower() for tag in ("utf-8", "utf8"))
    return True


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
        from value_diag.reports import github, markdown

        if fmt is Format.GITHUB:
            return "\n".join(github(frame, self.thresholds))
        return markdown(frame, self.thresholds)


def dumps(obj: object) -> str:
    """Strict, ASCII-only JSON on one line; a lone surrogate in a string is written as U+FFFD.

    File names that are not UTF-8 (Python keeps their bytes as surrogates) and ``\\ud800``
    escapes in the input would otherwise come out as ``\\udcff`` escapes, which strict
    parsers refuse.
    """
    import json  # text frames do not need it

    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    if "\\ud" not in text:  # no surrogate escape at all, the usual case: nothing to walk
        return text
    return json.dumps(_no_surrogates(obj), separators=(",", ":"), allow_nan=False)


def _no_surrogates(obj: object) -> object:
    """``obj`` with every surrogate code point in its strings (keys too) replaced by U+FFFD."""
    if isinstance(obj, str):
        return obj if obj.isascii() else SURROGATE.sub(REPLACEMENT, obj)
    if isinstance(obj, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_no_surrogates(x) for x in obj]
    return obj


def status_style(status: health.Status) -> str:
    """The colour of a status word."""
    return {
        health.Status.CRITICAL: health.CRITICAL_STYLE,
        health.Status.WARNING: health.WARNING_STYLE,
        health.Status.OK: "green",
    }.get(status, "dim")


def _number(x: float) -> float | str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def to_json(
    frame: Frame,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    *,
    trend: bool = False,
    thresholds_from: str = DEFAULT_ORIGIN,
) -> dict[str, Any]:
    """The frame as the documented JSON object; with ``trend``, the value history too.

    ``thresholds_from`` is where the thresholds judging it came from: "default", or the
    path of the config file; it is the object's "thresholds" key.
    """
    st = frame.state
    h = assess(st, thresholds)
    values = dict(zip(VALUE_FIELDS, st.values or (0.0,) * len(VALUE_FIELDS), strict=True))
    values[health.SPREAD] = values["return_p90"] - values["return_p10"]

    def level(name: str) -> str:
        mark = h.marks.get(name)
        return (mark.level if mark else Level.NO_DATA).value

    compile_ = st.compile
    out: dict[str, Any] = {
        "source": frame.source,
        "records": st.records,
        "bad_lines": st.bad_lines,
        "last_error": st.last_error,
        "status": h.status.value,
        "value_function": {
            name: {"value": _number(values[name]), "level": level(name)} for name in values
        },
        "infrastructure": {
            "compile_enabled": compile_.enabled if compile_ else False,
            "compile_backend": compile_.backend if compile_ else "",
            "compile_mode": compile_.mode if compile_ else "",
            "level": level(health.COMPILE),
        },
        "thresholds": thresholds_from,
    }
    if trend:
        out["history"] = {
            name: [_number(record[i]) for record in st.history]
            for i, name in enumerate(VALUE_FIELDS)
        }
    return out
