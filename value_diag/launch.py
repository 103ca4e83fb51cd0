"""The console script's entry: start-up and shut-down without work nobody sees.

Start-up builds some hundred thousand objects (Typer, Rich, pydantic) and frees almost
none, so the garbage collections it would trigger find nothing: the collector is paused
until a command's body runs (``cli._exit`` turns it back on). At the end, the interpreter
would free every module's objects one by one, about 20 ms; once the output is flushed
and nothing waits to run at exit, the process ends at once instead.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys


def run() -> int:
    """Runs `value-diag` with sys.argv; returns the exit code (or ends the process with it)."""
    gc.disable()
    try:
        from value_diag.cli import main
    except BaseException:
        gc.enable()
        raise
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return code  # the usual shut-down reports nothing new, and keeps the code
    if atexit._ncallbacks() == 0:
        os._exit(code)
    return code
