"""GitHub Actions: workflow annotations and the job's step summary."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from value_diag.health import Level
from value_diag.render.frames import count
from value_diag.render.markdown import compare_markdown, markdown
from value_diag.render.panel import metric_cells, span
from value_diag.render.sanitize import clean, clean_name

if TYPE_CHECKING:
    from collections.abc import Mapping

    from value_diag.frame import Frame


STEP_SUMMARY: Final = "GITHUB_STEP_SUMMARY"
_LEVEL_WORD: Final = {Level.WARNING: "warning", Level.CRITICAL: "error"}
"""GitHub workflow command for each alarming level."""


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


STALE_LABEL: Final = "Stale"


def _cells(frame: Frame) -> list[tuple[str, str, Level]]:
    """Label, value and level of every metric and the compile status, and of the age
    when --max-age made the run stale."""
    cells = metric_cells(frame, ascii_only=True)
    if frame.health.stale is not None:
        cells.append((STALE_LABEL, f"no record for {span(frame.health.stale)}", Level.CRITICAL))
    return cells


def levels(frame: Frame) -> dict[str, Level]:
    """Label -> level of every metric and the compile status (empty without data)."""
    return {label: level for label, _value, level in _cells(frame)}


def _annotation(command: str, source: str, label: str, value: str, level: Level) -> str:
    title = _escape_property(f"value-diag: {label} {level.value}")
    message = _escape_data(f"{source}: {label} {value} ({level.value})")
    return f"::{command} title={title}::{message}"


def github(frame: Frame, since: Mapping[str, Level] | None = None) -> list[str]:
    """Workflow commands: a warning or error per alarming metric, else one notice.

    Args:
        since: the levels this source had when it was last annotated (``levels()``). Then
            only the metrics whose level changed are annotated (a recovery as a notice),
            and nothing is said if none did, so a followed run does not repeat itself.
    """
    source = clean_name(frame.name, ascii_only=True)
    st = frame.state
    lines = []
    for label, value, level in _cells(frame):
        before = None if since is None else since.get(label, Level.NO_DATA)
        if level is before:
            continue
        if level in _LEVEL_WORD:
            lines.append(_annotation(_LEVEL_WORD[level], source, label, value, level))
        elif before in _LEVEL_WORD:
            lines.append(_annotation("notice", source, label, value, level))
    if not lines and since is None:
        status = frame.health.status.word
        counts = f"{count(st.records, 'record')}, {count(st.bad_lines, 'bad line')}"
        lines.append(f"::notice title=value-diag::{_escape_data(f'{source}: {status}, {counts}')}")
    return lines


def compare_github(frames: list[Frame]) -> list[str]:
    """The annotations of several runs, worst run first (its summary is one table)."""
    from value_diag.render.compare import sort_worst_first

    return [line for frame in sort_worst_first(frames) for line in github(frame)]


def write_summary(frames: list[Frame], compare: bool = False, critic: bool = False) -> None:
    """Appends the frames as markdown to the file GITHUB_STEP_SUMMARY names, if any.

    With ``compare``, one table of every run (``critic``: with the critic's columns)
    instead of a section each.

    Best effort: the annotations and the exit code matter more than the summary, so a
    file that cannot be written costs a one-line warning on stderr and nothing else.
    """
    path = os.environ.get(STEP_SUMMARY)
    if not path or not frames:
        return
    if compare:
        text = compare_markdown(frames, critic=critic) + "\n"
    else:
        text = "".join(markdown(frame) + "\n" for frame in frames)
    try:
        with Path(path).open("a", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        sys.stderr.write(
            f"value-diag: warning: cannot write step summary {clean(path)}: {reason}\n"
        )
