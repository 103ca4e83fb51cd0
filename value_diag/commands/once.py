"""`value-diag once`: fold whole files (or stdin) and print their latest frames."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from value_diag.commands.paths import check_paths
from value_diag.errors import ReadError
from value_diag.exitcodes import ExitCode, exit_code, worst
from value_diag.frame import Frame
from value_diag.health import Status, reaches
from value_diag.ingest.files import display_name
from value_diag.ingest.parallel import read_path
from value_diag.options import Format
from value_diag.render.frames import Renderer
from value_diag.render.sanitize import clean
from value_diag.render.terminal import silence_stdout

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


@dataclass(frozen=True, slots=True)
class OnceOptions:
    """How `once` prints and judges."""

    format: Format = Format.TEXT
    fail_on: Status | None = None
    boxed: bool = False
    """Draw bordered panels (on a terminal) instead of plain lines."""
    compare: bool = False
    """One table for all runs instead of a frame each."""
    history: int = 0
    """Value records kept for the trend column (0: no trend)."""
    svg: str | None = None
    html: str | None = None


def run_once(
    paths: list[str], console: Console, renderer: Renderer, options: OnceOptions
) -> ExitCode:
    """Prints the frames of ``paths`` and says how the process should exit.

    A file of several groups (esper-lite's A/B runs) gives a frame per group, judged as
    a run of its own. An unreadable file is reported on stderr and the others are still
    shown; the exit code is then 2. Otherwise the worst of the runs' codes.
    """
    check_paths(paths)
    now = time.time()
    frames: list[Frame] = []
    codes: list[ExitCode] = []
    for path in paths:
        try:
            runs = read_path(path, now, history=options.history)
        except ReadError as exc:
            if len(paths) == 1:
                raise
            sys.stderr.write(f"value-diag: error: {clean(str(exc), limit=None)}\n")
            codes.append(ExitCode.ERROR)
            continue
        for name, state in runs.named(display_name(path)):
            frame = Frame(name, state, thresholds=renderer.thresholds)
            frames.append(frame)
            codes.append(exit_code(frame.health.status, options.fail_on))
    try:
        _print(frames, console, renderer, options)
        console.file.flush()
    except BrokenPipeError:  # the reader left (`| head -1`); the verdict still stands
        silence_stdout()
    if frames and options.format is Format.GITHUB:
        from value_diag.render.github import write_summary

        write_summary(frames)  # after the annotations: it may fail
    if options.fail_on is not None:  # exit 1 says that a run failed; stderr says which, and why
        for frame in frames:
            if reaches(frame.health.status, options.fail_on):
                sys.stderr.write(renderer.verdict(frame, options.fail_on) + "\n")
    if frames and (options.svg or options.html):
        from value_diag.render.export import export

        picture = _picture(frames, renderer, options)
        for target, kind in ((options.svg, "svg"), (options.html, "html")):
            if target:
                export(picture, target, kind)
    return worst(codes)


def _picture(frames: list[Frame], renderer: Renderer, options: OnceOptions) -> RenderableType:
    if options.compare:
        from value_diag.render.compare import compare

        return compare(frames, renderer)
    return renderer.stacked(frames)


def _print(frames: list[Frame], console: Console, renderer: Renderer, options: OnceOptions) -> None:
    if options.compare and options.format in (Format.TEXT, Format.JSON):
        from value_diag.render.compare import compare, sort_worst_first
        from value_diag.render.jsonframe import dumps, to_json

        if options.format is Format.JSON:
            ordered = sort_worst_first(frames)
            trend, origin = renderer.trend, renderer.thresholds_from
            frames_json = [to_json(f, trend=trend, thresholds_from=origin) for f in ordered]
            console.out(dumps(frames_json))
        else:
            table = compare(frames, renderer)
            if not options.boxed:  # a log has no width to fit: give the table all it wants
                wide = console.options.update_width(10_000)
                console.width = max(console.width, console.measure(table, options=wide).maximum)
            console.print(table)
        return
    if options.format is Format.TEXT and options.boxed:
        console.print(renderer.stacked(frames))
        return
    for i, frame in enumerate(frames):
        if options.format is not Format.TEXT:
            console.out(renderer.text(frame, options.format), highlight=False)
            continue
        if i:
            console.out("")
        console.print(renderer.plain(frame), soft_wrap=True)
