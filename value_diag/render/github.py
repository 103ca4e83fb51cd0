"""GitHub Actions: workflow annotations and the job's step summary."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from value_diag.gate import earlier_frames
from value_diag.health import AGE_UNKNOWN, Level, Thresholds
from value_diag.render.frames import count
from value_diag.render.markdown import compare_markdown, markdown
from value_diag.render.panel import cell_names, metric_cells
from value_diag.render.sanitize import clean, clean_name
from value_diag.render.words import span
from value_diag.voice import PROG

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
AGE_LABEL: Final = "Age"
AGE_UNKNOWN_SAID: Final = "age unknown: the file time is ahead of the clock"
"""The annotation of a run whose age cannot be known: critical under --max-age (stale), a
warning without it."""


def _cells(frame: Frame) -> list[tuple[str, str, Level]]:
    """Label, value and level of every metric and the compile status, and of the age
    when --max-age made the run stale or it cannot be known. A number has the digits it
    needs to sit on the right side of its thresholds (0.996, not the panel's 1.0, beside a
    threshold of 1)."""
    h = frame.health
    cuts = _cuts(frame)
    shown = metric_cells(frame, ascii_only=True)  # none before any data
    names = cell_names(frame) if shown else []
    cells = [
        (label, _exact(_shown(name, h.values.get(name)), text, cuts), level)
        for (label, text, level), name in zip(shown, names, strict=True)
    ]
    stale = frame.health.stale
    if stale == AGE_UNKNOWN:
        cells.append((STALE_LABEL, AGE_UNKNOWN_SAID, Level.CRITICAL))
    elif stale is not None:
        cells.append((STALE_LABEL, f"no record for {span(stale)}", Level.CRITICAL))
    elif frame.age_unknown():
        cells.append((AGE_LABEL, AGE_UNKNOWN_SAID, Level.WARNING))
    return cells


def _shown(name: str, value: float | None) -> float | None:
    """The number the panel shows for a metric: the return variance as its standard deviation."""
    if name == "return_variance" and value is not None and value >= 0:
        return math.sqrt(value)
    return value


MAX_DIGITS: Final = 6
"""Significant digits an annotated number may take to sit on the right side of a threshold."""


def _exact(value: float | None, shown: str, cuts: frozenset[float]) -> str:
    """``shown`` (the panel's text), or ``value`` with the fewest more digits that keep it
    on the same side of every threshold in ``cuts`` as the value itself: a Skew of 0.9996
    beside a threshold of 1 reads +0.9996, not +1."""
    if value is None or not math.isfinite(value):
        return shown
    try:
        float(shown.replace(",", ""))
    except ValueError:
        return shown  # a word (Calib, Compile) or a dash
    sign = "+" if shown.startswith("+") else ""
    text = shown
    for digits in range(3, MAX_DIGITS + 1):
        if all(_side(float(text), cut) == _side(value, cut) for cut in cuts):
            return text
        text = format(value, f"{sign}.{digits + 1}g")
    return text


def _side(x: float, cut: float) -> int:
    return (x > cut) - (x < cut)


def _cuts(frame: Frame) -> frozenset[float]:
    """Every threshold of the rules that judged the frame, and its negative (the rules on
    |x|), where a number may sit."""
    numbers = [
        getattr(frame.rules, f.name)
        for f in fields(Thresholds)
        if isinstance(getattr(frame.rules, f.name), float)
    ]
    return frozenset(numbers + [-x for x in numbers])


def levels(frame: Frame) -> dict[str, Level]:
    """Label -> level of every metric and the compile status (empty without data)."""
    return {label: level for label, _value, level in _cells(frame)}


def _annotation(command: str, source: str, label: str, value: str, level: Level) -> str:
    title = _escape_property(f"{PROG}: {label} {level.value}")
    message = _escape_data(f"{source}: {label} {value} ({level.value})")
    return f"::{command} title={title}::{message}"


def github(
    frame: Frame, since: Mapping[str, Level] | None = None, only: set[str] | None = None
) -> list[str]:
    """Workflow commands: a warning or error per alarming metric, else one notice.

    Args:
        since: the levels this source had when it was last annotated (``levels()``). Then
            only the metrics whose level changed are annotated (a recovery as a notice),
            and nothing is said if none did, so a followed run does not repeat itself.
        only: with ``since``, the labels whose change may be said (those that held).
    """
    source = clean_name(frame.name, ascii_only=True)
    st = frame.state
    lines = []
    for label, value, level in _cells(frame):
        before = None if since is None else since.get(label, Level.NO_DATA)
        if level is before or (only is not None and label not in only):
            continue
        if level in _LEVEL_WORD:
            lines.append(_annotation(_LEVEL_WORD[level], source, label, value, level))
        elif before in _LEVEL_WORD:
            lines.append(_annotation("notice", source, label, value, level))
    if not lines and since is None:
        status = frame.health.status.word
        counts = f"{count(st.records, 'record')}, {count(st.bad_lines, 'bad line')}"
        lines.append(f"::notice title={PROG}::{_escape_data(f'{source}: {status}, {counts}')}")
    return lines


MIN_HOLD: Final = 2
"""Frames a metric's new level must hold before `watch` annotates it, at least (the rules'
persistence, if longer): a value wobbling across a threshold is said once, not each time."""


class Annotator:
    """The annotations of followed runs, a level change said once it has held.

    The first frame of a run is annotated whole. After it, a metric whose level changed is
    annotated once the new level has held for the rules' persistence, at least MIN_HOLD
    updates in a row (judged on the updates the fold keeps, so lines read together count
    one by one), except a value that is not a number, which is said at once.
    """

    def __init__(self) -> None:
        self._said: dict[int, dict[str, Level]] = {}
        """Per source (its index): the level each label was last annotated at."""

    def lines(self, i: int, frame: Frame) -> list[str]:
        """The workflow commands source ``i``'s new frame calls for."""
        now = levels(frame)
        said = self._said.get(i)
        if said is None:
            self._said[i] = now
            return github(frame)
        changed = {k for k, v in now.items() if said.get(k, Level.NO_DATA) is not v}
        if changed:
            hold = max(MIN_HOLD, frame.rules.gate[1])
            before = [levels(f) for f in earlier_frames(frame, hold - 1)]
            changed = {
                k
                for k in changed
                if _not_a_number(frame, k)
                or (len(before) == hold - 1 and all(b.get(k) is now[k] for b in before))
            }
        lines = github(frame, said, only=changed)
        self._said[i] = {**said, **{k: now[k] for k in changed}}
        return lines


def _not_a_number(frame: Frame, label: str) -> bool:
    """Whether the frame shows the metric under ``label`` as NaN or an infinity."""
    return any(
        shown == label and text in ("NaN", "Inf", "-Inf") for shown, text, _level in _cells(frame)
    )


def compare_github(frames: list[Frame]) -> list[str]:
    """The annotations of several runs, worst run first (its summary is one table)."""
    from value_diag.render.compare import sort_worst_first

    return [line for frame in sort_worst_first(frames) for line in github(frame)]


class Summarising(Protocol):
    """What the step summary needs of the Environment (environment.Environment): its
    variables, and its voice for a warning. A protocol, so that render/ imports no I/O."""

    @property
    def environ(self) -> Mapping[str, str]: ...

    def say(self, message: str, level: str | None = None) -> None: ...


def write_summary(
    frames: list[Frame], env: Summarising, compare: bool = False, critic: bool = False
) -> None:
    """Appends the frames as markdown to the file GITHUB_STEP_SUMMARY names in ``env``'s
    variables, if any.

    With ``compare``, one table of every run (``critic``: with the critic's columns)
    instead of a section each (see ``append_summary``).
    """
    if not frames or not env.environ.get(STEP_SUMMARY):
        return
    if compare:
        append_summary(compare_markdown(frames, critic=critic) + "\n", env)
    else:
        append_summary("".join(markdown(frame) + "\n" for frame in frames), env)


def append_summary(text: str, env: Summarising) -> None:
    """Appends ``text`` to the file GITHUB_STEP_SUMMARY names in ``env``'s variables, if any.

    Best effort: the annotations and the exit code matter more than the summary, so a
    file that cannot be written costs a one-line warning (``env.say``) and nothing else.
    """
    path = env.environ.get(STEP_SUMMARY)
    if not path:
        return
    try:
        with Path(path).open("a", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        env.say(f"cannot write step summary {clean(path)}: {reason}", "warning")
