"""Start-up without garbage collections that find nothing.

Start-up builds some hundred thousand objects (Typer, and pydantic, which Typer imports
when it first reads an option's value; Rich; the commands' modules) and frees almost
none, so the collections their allocation would trigger are wasted: about forty of them
on `once`, some 10 ms. The console script pauses the collector before it imports the
command line (``pause``); a command's body begins with ``resume``, which freezes what
start-up made (``gc.freeze()``: those objects live as long as the process) and turns the
collector back on, so the body's collections, and the one at shut-down, look only at what
the command itself made. A command line that ends before any body (help, a usage error)
turns it back on as the console script returns.

Run any other way (``cli.main`` from a test or a program), nothing is paused and
``resume`` does nothing.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Turns the collector off for start-up, unless someone already did."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Ends start-up: what it made is frozen and the collector is back on (if paused)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
