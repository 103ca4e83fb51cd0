"""A frame as a markdown section, every string from the file shown literally."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from value_diag.health import ALARMS, COMPILE
from value_diag.render.frames import AGE_UNKNOWN_TEXT, TITLE, count
from value_diag.render.panel import cell_names, critic_shown, metric_cells
from value_diag.render.sanitize import clean, clean_name

if TYPE_CHECKING:
    from value_diag.frame import Frame


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


def markdown(frame: Frame, ascii_only: bool = False) -> str:
    """The frame as a markdown section: a heading, the counts, and a metric table.

    Every string from the file or its name is a code span, so it renders as written. A
    metric the file has not reported shows "—" ("-" with ``ascii_only``).
    """
    from value_diag.render.compare import why_cell

    st = frame.state
    status = frame.health.status
    why = why_cell(frame, ascii_only, critic_shown(frame)).text
    out = [
        f"### {TITLE}: {_code(clean_name(frame.name, ascii_only=True))}",
        "",
        f"**{status.word}**"
        + (f" ({why})" if why else "")
        + f" | {count(st.records, 'record')} | {count(st.bad_lines, 'bad line')}"
        + (f" | last: {_code(st.last_error)}" if st.last_error else "")
        + (f" | {AGE_UNKNOWN_TEXT}" if frame.age_unknown() else ""),
        "",
    ]
    cells = metric_cells(frame, ascii_only)
    if not cells:
        out.append(f"_no data_: {frame.hint}" if frame.hint else "_no data_")
        return "\n".join(out)
    out += ["| metric | value | level |", "|---|---:|---|"]
    from_file = st.compile is not None and st.compile.enabled  # backend:mode, not a number
    for (label, value, level), name in zip(cells, cell_names(frame), strict=True):
        shown = level.word if level not in ALARMS else f"**{level.word}**"
        cell = _code(value, in_table=True) if name == COMPILE and from_file else value
        out.append(f"| {label} | {cell} | {shown} |")
    return "\n".join(out + _limits([frame], ascii_only, critic_shown(frame)))


def compare_markdown(frames: list[Frame], ascii_only: bool = False, critic: bool = False) -> str:
    """Several runs as one markdown table, a row per run, worst first.

    Every column is there (a page has no width to fit). Run names and the compile backend
    and mode from the file are code spans; alarming values and statuses are bold.
    """
    from value_diag.render.compare import columns, heading

    cols = columns(frames, ascii_only, critic)
    out = [
        f"### {TITLE}: {count(len(frames), 'run')}",
        "",
        "| " + " | ".join(heading(c.label, ascii_only) for c in cols) + " |",
        "|" + "|".join("---:" if c.right else "---" for c in cols) + "|",
    ]
    for i in range(len(frames)):
        cells = []
        for column in cols:
            cell = column.cells[i]
            text = _code(cell.text, in_table=True) if cell.literal else cell.text
            cells.append(f"**{text}**" if cell.alarm and not cell.literal else text)
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out + _limits(frames, ascii_only, critic))


def _limits(frames: list[Frame], ascii_only: bool, critic: bool) -> list[str]:
    """What a trainer's own log cannot give (render/limits.py), under the table: value-diag's
    own words as text, the runs' names as code spans."""
    if all(f.limits is None for f in frames):
        return []
    from value_diag.render.limits import limits_said

    said = limits_said(frames, ascii_only, critic)
    if len(frames) == 1:  # the section names its run
        return ["", said[0][1]]
    out = []
    for names, line in said:
        out += ["", ", ".join(_code(clean_name(n, ascii_only=True)) for n in names) + f": {line}"]
    return out
