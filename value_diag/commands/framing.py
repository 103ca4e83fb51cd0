"""A file's folded runs -> the frames the renderers draw, named as they are shown."""

from __future__ import annotations

from value_diag.frame import Frame
from value_diag.health import Thresholds
from value_diag.ingest.files import display_name
from value_diag.ingest.fold import FileState, run_name


def frames_of(
    runs: FileState,
    path: str,
    name: str,
    thresholds: Thresholds,
    at: float | None = None,
    note: str | None = None,
) -> list[Frame]:
    """The frames of a file's runs: its one run, or one per esper-lite group.

    A frame's source is the path (``path#GROUP`` for a group's run, ``<stdin>`` for
    ``-``); it is shown as ``name`` (``name#GROUP``) when that differs.
    """
    source = display_name(path)
    short = None if name == path else name
    return [
        Frame(
            run_name(source, group),
            state,
            note,
            thresholds,
            at,
            None if short is None else run_name(short, group),
        )
        for group, state in runs.runs
    ]
