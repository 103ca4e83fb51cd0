"""Frames for CI and people reading later: GitHub annotations, markdown, comparison tables."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from rich.table import Table
from rich.text import Text

from value_diag import health
from value_diag.health import DEFAULT_THRESHOLDS, Level, Status, Thresholds
from value_diag.output import TITLE, Frame, assess, status_style
from value_diag.panel import METRICS, clean, compile_text, metric_text
from value_diag.source import ReadError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.console import Console, RenderableType

    from value_diag.output import Renderer

STEP_SUMMARY: Final = "GITHUB_STEP_SUMMARY"
_STATUS_ORDER: Final = {Status.CRITICAL: 0, Status.WARNING: 1, Status.NO_DATA: 2, Status.OK: 3}
"""Worst first: a dying run, then a worrying one, then one that reports nothing."""
_LEVEL_WORD: Final = {Level.WARNING: "warning", Level.CRITICAL: "error"}
"""GitHub workflow command for each alarming level."""


def _cells(frame: Frame, thresholds: Thresholds) -> list[tuple[str, str, Level]]:
    """(label, value text, level) for every metric and the compile status."""
    h = assess(frame.state, thresholds)
    if not h.marks:
        return []
    rows = [
        (label, metric_text(name, h.values[name]), h.marks[name].level)
        for name, (label, _spec) in METRICS.items()
    ]
    c = frame.state.compile
    words = compile_text(c.enabled, c.backend, c.mode, True) if c else "not reported"
    rows.append(("Compile", words, h.marks[health.COMPILE].level))
    return rows


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def levels(frame: Frame, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, Level]:
    """Label -> level of every metric and the compile status (empty without data)."""
    return {label: level for label, _value, level in _cells(frame, thresholds)}


def _annotation(command: str, source: str, label: str, value: str, level: Level) -> str:
    title = _escape_property(f"value-diag: {label} {level.value}")
    message = _escape_data(f"{source}: {label} {value} ({level.value})")
    return f"::{command} title={title}::{message}"


def github(
    frame: Frame,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    since: Mapping[str, Level] | None = None,
) -> list[str]:
    """Workflow commands: a warning or error per alarming metric, else one notice.

    Args:
        since: the levels this source had when it was last annotated (``levels()``). Then
            only the metrics whose level changed are annotated (a recovery as a notice),
            and nothing is said if none did, so a followed run does not repeat itself.
    """
    source = clean(frame.source, ascii_only=True)
    st = frame.state
    lines = []
    for label, value, level in _cells(frame, thresholds):
        before = None if since is None else since.get(label, Level.NO_DATA)
        if level is before:
            continue
        if level in _LEVEL_WORD:
            lines.append(_annotation(_LEVEL_WORD[level], source, label, value, level))
        elif before in _LEVEL_WORD:
            lines.append(_annotation("notice", source, label, value, level))
    if not lines and since is None:
        status = assess(st, thresholds).status.value
        counts = f"{st.records} records, {st.bad_lines} bad lines"
        lines.append(f"::notice title=value-diag::{_escape_data(f'{source}: {status}, {counts}')}")
    return lines


def write_summary(frames: list[Frame], thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
    """Appends the frames as markdown to the file GITHUB_STEP_SUMMARY names, if any.

    Best effort: the annotations and the exit code matter more than the summary, so a
    file that cannot be written costs a one-line warning on stderr and nothing else.
    """
    path = os.environ.get(STEP_SUMMARY)
    if not path or not frames:
        return
    text = "".join(markdown(frame, thresholds) + "\n" for frame in frames)
    try:
        with Path(path).open("a", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        sys.stderr.write(
            f"value-diag: warning: cannot write step summary {clean(path)}: {reason}\n"
        )


_BACKTICKS: Final = re.compile(r"`+")


def _code(text: str, in_table: bool = False) -> str:
    """A string from the file as a markdown code span, which shows it as written.

    Escaping punctuation is not enough on GitHub: it links URLs, @mentions and #refs in
    the rendered text, though never inside code. In a table a pipe would still end the cell.
    """
    text = clean(text, ascii_only=True)
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    if text[0] == "`" or text[-1] == "`" or (text[0] == text[-1] == " " and text.strip()):
        text = f" {text} "  # the renderer drops one space at each end
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def markdown(frame: Frame, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> str:
    """The frame as a markdown section: a heading, the counts, and a metric table.

    Every string from the file or its name is a code span, so it renders as written.
    """
    st = frame.state
    status = assess(st, thresholds).status
    out = [
        f"### {TITLE}: {_code(frame.source)}",
        "",
        f"**{status.value}** | {st.records} records | {st.bad_lines} bad lines"
        + (f" | last: {_code(st.last_error)}" if st.last_error else ""),
        "",
    ]
    cells = _cells(frame, thresholds)
    if not cells:
        out.append("_no data_")
        return "\n".join(out)
    out += ["| metric | value | level |", "|---|---:|---|"]
    from_file = st.compile is not None and st.compile.enabled  # backend:mode, not a number
    for label, value, level in cells:
        shown = level.value if level not in _LEVEL_WORD else f"**{level.value}**"
        cell = _code(value, in_table=True) if label == "Compile" and from_file else value
        out.append(f"| {label} | {cell} | {shown} |")
    return "\n".join(out)


def sort_worst_first(frames: list[Frame], thresholds: Thresholds) -> list[Frame]:
    """Frames ordered by status, worst first, then by source."""
    return sorted(
        frames, key=lambda f: (_STATUS_ORDER[assess(f.state, thresholds).status], f.source)
    )


def compare(frames: list[Frame], renderer: Renderer) -> Table:
    """One row per run, one column per metric, styled by level, worst run first."""
    table = Table(title=f"{TITLE}: {len(frames)} runs", title_justify="left", box=None)
    table.add_column("run", overflow="fold", min_width=12)
    table.add_column("status", no_wrap=True, min_width=8)
    for label, _spec in METRICS.values():
        table.add_column(label, justify="right", no_wrap=True, min_width=max(len(label), 5))
    table.add_column("compile", no_wrap=True, overflow="ellipsis", min_width=8, max_width=24)
    table.add_column("records", justify="right", no_wrap=True, min_width=7)
    table.add_column("bad", justify="right", no_wrap=True, min_width=3)
    for frame in sort_worst_first(frames, renderer.thresholds):
        h = assess(frame.state, renderer.thresholds)
        cells = _cells(frame, renderer.thresholds)
        row: list[RenderableType] = [
            Text(clean(frame.source, renderer.ascii_only)),
            Text(h.status.value, status_style(h.status)),
        ]
        if cells:
            marks = [*(h.marks[name] for name in METRICS), h.marks[health.COMPILE]]
            row += [Text(v, m.style) for (_, v, _), m in zip(cells, marks, strict=True)]
        else:
            row += [Text("-", "dim") for _ in range(len(METRICS) + 1)]
        st = frame.state
        row += [str(st.records), Text(str(st.bad_lines), "yellow" if st.bad_lines else "")]
        table.add_row(*row)
    return table


def export(renderable: RenderableType, path: str, kind: str, width: int = 100) -> None:
    """Writes the coloured renderable as an SVG or HTML file (for CI artifacts).

    At least ``width`` columns, more if the renderable (a wide comparison) wants them.
    """
    import io

    from rich.console import Console as RecordingConsole

    console: Console = RecordingConsole(
        record=True, width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor"
    )
    wide = console.options.update_width(10_000)
    console.width = max(width, console.measure(renderable, options=wide).maximum)
    console.print(renderable)
    if kind == "svg":
        text = console.export_svg(title="value-diag")
    else:
        text = console.export_html(inline_styles=True)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:  # the path is named here: a failed write's error does not carry it
        raise ReadError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
