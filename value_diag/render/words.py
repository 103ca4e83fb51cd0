"""How value-diag says a span of time and a count, the same in every table, panel and note."""

from __future__ import annotations

from typing import Final

UNITS: Final = ((86400, "d", 3600, "h"), (3600, "h", 60, "m"), (60, "m", 1, "s"))
"""Per unit, largest first: its seconds and letter, and the next unit's seconds and letter."""


def span(seconds: float) -> str:
    """A span of time in its two largest units, the second on two digits: "45s", "3m03s",
    "1h05m", "3d04h". Negative spans (a clock that stepped back) are "0s".

    One format everywhere (tables, panels, stale reasons, notes), so an age read in one
    place can be compared with the same age read in another.
    """
    s = max(0, int(seconds))
    for size, unit, next_size, next_unit in UNITS:
        if s >= size:
            return f"{s // size}{unit}{s % size // next_size:02d}{next_unit}"
    return f"{s}s"


def count(n: int, word: str) -> str:
    """ "1 run", "2 runs", "0 runs": ``word`` with an s unless there is exactly one."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
