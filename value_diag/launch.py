"""The console script's entry: start-up with the collector paused (value_diag/startup.py).

The process then ends the ordinary way: atexit handlers, non-daemon threads and
finalisers all run. (Ending with ``os._exit`` after flushing saved no more than a few
ms in bench/scale.py, too little for the trap of silently skipping all three.)
"""

from __future__ import annotations

from value_diag import startup


def run() -> int:
    """Runs `value-diag` with sys.argv; returns the exit code.

    The collector stays paused through the imports and the parsing of the options, until
    a command's body begins (cli/running.py); whatever way the command line ends, it is
    on again when this returns.
    """
    startup.pause()
    try:
        from value_diag.cli import main

        return main()
    finally:
        startup.resume()
