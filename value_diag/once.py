"""`value-diag once`: fold a whole file (or stdin) and print its latest frame."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console

from value_diag.exitcodes import ExitCode, exit_code
from value_diag.health import Status
from value_diag.output import Format, Frame, Renderer, assess, silence_stdout
from value_diag.scan import fold_path
from value_diag.source import display_name


@dataclass(frozen=True, slots=True)
class OnceOptions:
    """How `once` prints and judges."""

    format: Format = Format.TEXT
    fail_on: Status | None = None
    boxed: bool = False
    """Draw the bordered panel (on a terminal) instead of the plain lines."""


def run_once(path: str, console: Console, renderer: Renderer, options: OnceOptions) -> ExitCode:
    """Prints the frame of ``path`` and says how the process should exit."""
    frame = Frame(display_name(path), fold_path(path, time.time()))
    code = exit_code(assess(frame.state, renderer.thresholds).status, options.fail_on)
    try:
        if options.format is Format.JSON:
            console.out(renderer.json_line(frame), highlight=False)
        elif options.boxed:
            console.print(renderer.boxed(frame))
        else:
            console.print(renderer.plain(frame), soft_wrap=True)
        console.file.flush()
    except BrokenPipeError:  # the reader left (`| head -1`); the verdict still stands
        silence_stdout()
    return code
