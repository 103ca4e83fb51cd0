"""A file's folded runs -> the frames the renderers draw, named as they are shown."""

from __future__ import annotations

from value_diag.frame import Frame
from value_diag.health import Rules
from value_diag.ingest.files import display_name
from value_diag.ingest.fold import FileState
from value_diag.naming import run_name
from value_diag.state import FoldState


def runs_of(runs: FileState, path: str, name: str) -> list[tuple[str, str | None, FoldState]]:
    """A file's runs: its one run, or one per esper-lite group, each as (source, short
    name or None, state). The source is the path (``path#GROUP`` for a group's run,
    ``<stdin>`` for ``-``); the short name is ``name`` (``name#GROUP``) when that differs."""
    source = display_name(path)
    short = None if name == source else name
    return [
        (run_name(source, group), None if short is None else run_name(short, group), state)
        for group, state in runs.runs
    ]


def frames_of(
    runs: FileState,
    path: str,
    name: str,
    thresholds: Rules,
    at: float | None = None,
    note: str | None = None,
) -> list[Frame]:
    """The frames of a file's runs (see ``runs_of``), judged at ``at``; a trainer's own
    log's say what it cannot give (``FileState.limits``)."""
    return [
        Frame(source, state, note, thresholds, at, short, limits=runs.limits)
        for source, short, state in runs_of(runs, path, name)
    ]
