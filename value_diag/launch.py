"""The console script's entry: start-up without garbage collections that find nothing.

Start-up builds some hundred thousand objects (Typer, pydantic, Rich) and frees almost
none, so the collections their allocation would trigger are wasted: the collector is
paused while the CLI is imported. Those objects then live as long as the process, so
``gc.freeze()`` moves them out of the collector's sight; later collections, and the one
at shut-down, look only at what the command itself made.

The process then ends the ordinary way: atexit handlers, non-daemon threads and
finalisers all run. (Ending with ``os._exit`` after flushing saved no more than a few
ms in bench/scale.py, too little for the trap of silently skipping all three.)
"""

from __future__ import annotations

import gc


def run() -> int:
    """Runs `value-diag` with sys.argv; returns the exit code."""
    gc.disable()
    try:
        from value_diag.cli import main
    finally:
        gc.freeze()
        gc.enable()
    return main()
