"""How value-diag writes a number, a span of time and a count: the same in every table, panel
and note."""

from __future__ import annotations

import math
from typing import Final

DIGITS: Final = 3
"""Significant digits a value keeps however small its scale (fewer only where its cell
is too narrow for them)."""
NUMBER_W: Final = 8
"""The characters a number takes by default: a cell of the panel (its VAL_W)."""
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


def format_number(x: float, signed: bool = False, width: int = NUMBER_W) -> str:
    """``x`` with DIGITS significant digits, in ``width`` characters where it can be.

    Fixed notation while it fits, a whole number keeping all its digits ("1234",
    "0.00412"), else a short exponent ("1.23e8", "4.12e-5"); fewer digits only when
    neither fits, so small-scale runs stay readable (see the end for when none does).
    Zeros that end a fraction are not written ("2.4", "0.8", as the spec's example shows
    them). Zero is "0", never "-0"; ``signed`` puts "+" before a positive value.
    Non-finite values are NaN, Inf and -Inf.
    """
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    sign = "+" if signed and x > 0 else ""
    shortest = ""
    for digits in range(DIGITS, 0, -1):
        for text in (_fixed(x, digits), _exponent(x, digits)):
            text = sign + text
            if len(text) <= width:
                return text
            if not shortest or len(text) < len(shortest):
                shortest = text
    # Not even one digit fits: a value under 1 rounds to 0 at this width (1e-195 in five
    # characters), a larger one is written whole and overflows its cell.
    return "0" if abs(x) < 1 else shortest


def _fixed(x: float, digits: int) -> str:
    """``x`` (finite, not 0) rounded to ``digits`` significant digits, without an exponent;
    a number of more digits than that keeps all of them, rounded to a whole number."""
    exponent = int(f"{x:.{digits - 1}e}".split("e")[1])  # after rounding: 9.996 is 1.00e1
    return trimmed(f"{x:.{max(digits - 1 - exponent, 0)}f}")


def _exponent(x: float, digits: int) -> str:
    """``x`` (finite, not 0) as "1.23e8": ``digits`` significant digits, a bare exponent."""
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{trimmed(mantissa)}e{int(exponent)}"


def trimmed(text: str) -> str:
    """A decimal number without the zeros that end its fraction: "2.40" -> "2.4",
    "3.00" -> "3", "1.20e8" -> "1.2e8"."""
    mantissa, e, exponent = text.partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa + e + exponent
