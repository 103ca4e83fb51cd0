"""The program's voice: its name, and the one shape of every ``value-diag:`` line.

Pure, and imported by no I/O: render/ builds its verdicts with it for a caller to write,
and environment.Environment.say writes every other line through it.
"""

from __future__ import annotations

from typing import Final

PROG: Final = "value-diag"
"""The program's name: the usage lines' and the first word of every line it says."""


def voiced(message: str, level: str | None = None) -> str:
    """A line in the program's voice, without its newline: ``value-diag: MESSAGE``, or
    ``value-diag: LEVEL: MESSAGE`` (``error``, ``warning``)."""
    return f"{PROG}: {message}" if level is None else f"{PROG}: {level}: {message}"
