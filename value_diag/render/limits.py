"""What a trainer's own log cannot give the panel, said in one line under it and in JSON. Pure.

A frame read from SB3's ``progress.csv``, a TensorBoard event file, Tune's ``result.json``
or verl's file logger carries its reader's statement (frame.SourceLimits): the metrics the
format has no place for, and the one line in the trainer that would write them all. The
panel shows those metrics as not reported, as it shows any metric nobody logged; this line
says why, and what to do. The text is value-diag's own, and is cleaned like any string
shown (render/sanitize.py).
"""

from __future__ import annotations

from typing import Any, Final

from value_diag import registry
from value_diag.frame import Frame, SourceLimits
from value_diag.render.sanitize import clean
from value_diag.schema import VALUE_FIELDS

SECTION_TITLE: Final = "Where the three inputs are in your trainer"
"""The README section that shows each trainer's hook (SourceLimits.section links to it)."""
THE_NINE: Final = "the nine value-function metrics"


def limits_line(limits: SourceLimits, ascii_only: bool = False, critic: bool = False) -> str:
    """One line: which metrics the source cannot give, what it gives, and the hook that
    would give them all, with the README section that shows it.

    ``critic``: the CRITIC CALIBRATION block is shown (else the line says that --critic
    shows what the source gives).
    """
    return " ".join(limits_parts(limits, ascii_only, critic))


def limits_parts(
    limits: SourceLimits, ascii_only: bool = False, critic: bool = False
) -> tuple[str, str]:
    """``limits_line`` in its two sentences (what is missing; the hook), for a panel too
    narrow for the line: each then starts a line of its own, so neither is cut away."""
    missing = list(limits.missing)
    names: list[str] = []
    if set(VALUE_FIELDS) <= set(missing):
        names.append(THE_NINE)
        missing = [n for n in missing if n not in VALUE_FIELDS]
    names += [registry.label(n, ascii_only) for n in missing]
    gives = ", ".join(registry.label(n, ascii_only) for n in limits.gives)
    shown = "" if critic or not gives else " (shown by --critic)"
    said = f"{limits.source} cannot give {', '.join(names)}"
    if gives:
        said += f"; it gives {gives}{shown}"
    said += "."
    if gives and limits.timing:
        said += f" {limits.timing}."
    hook = f"The hook that would: {limits.hook} (README: {SECTION_TITLE})"
    return clean(said, ascii_only, limit=None), clean(hook, ascii_only, limit=None)


def limits_said(
    frames: list[Frame], ascii_only: bool = False, critic: bool = False
) -> list[tuple[list[str], str]]:
    """Under a table of runs: each distinct ``limits_line`` once, with the names of the runs
    it is said of (as given: the caller cleans or quotes them)."""
    said: dict[str, list[str]] = {}
    for frame in frames:
        if frame.limits is not None:
            said.setdefault(limits_line(frame.limits, ascii_only, critic), []).append(frame.name)
    return [(names, line) for line, names in said.items()]


def limits_json(limits: SourceLimits) -> dict[str, Any]:
    """The statement as a JSON object: the source, the metrics it cannot give and gives
    (schema names), the hook, and the README section (a path and its anchor)."""
    return {
        "source": limits.source,
        "cannot_give": list(limits.missing),
        "gives": list(limits.gives),
        "hook": limits.hook,
        "see": limits.section,
        **({"timing": limits.timing} if limits.timing else {}),
    }
