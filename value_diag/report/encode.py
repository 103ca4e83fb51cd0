"""Series as compact JSON, and JSON that is safe inside a <script> element.

A 64-run sweep of 500 updates is some 500,000 numbers: written as floats they would
take a dozen characters each. Each series is stored instead as whole multiples of one
power of ten (DIGITS significant digits of its largest value), each the difference from
the one before, which for a smooth curve is a digit or two. Steps are stored as runs of
equal differences. The page's script undoes both (report.js: decodeValues, decodeX).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, Final

DIGITS: Final = 4
"""Significant digits of a series' largest magnitude that each of its values keeps."""
SCRIPT_UNSAFE: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
"""Characters written as escapes in JSON inside <script>: no `</script>` or `<!--` in the
data can end the element or open a comment, whatever a run name holds."""


def exponent(values: Sequence[float | None]) -> int:
    """The power of ten the values are counted in: DIGITS digits of the largest."""
    top = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    if top == 0:
        return 0
    return math.floor(math.log10(top)) - (DIGITS - 1)


def encode_values(values: Sequence[float | None]) -> list[Any]:
    """``[e, d1, d2, ...]``: value i is (d1 + ... + di) * 10**e; null for a value not
    reported or not finite (the next difference is from the last number before it)."""
    e = exponent(values)
    out: list[Any] = [e]
    last = 0
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(None)
            continue
        q = round(v * 10**-e) if e <= 0 else round(v / 10**e)
        out.append(q - last)
        last = q
    return out


def non_finite(values: Sequence[float | None]) -> list[Any]:
    """The points that are not numbers, as ``[index, "NaN" | "Inf" | "-Inf"]`` pairs
    flattened: the page marks them (a NaN is critical, not a gap)."""
    out: list[Any] = []
    for i, v in enumerate(values):
        if v is not None and not math.isfinite(v):
            out += [i, "NaN" if math.isnan(v) else ("Inf" if v > 0 else "-Inf")]
    return out


def encode_x(x: Sequence[int]) -> list[int]:
    """``[x0, d1, n1, d2, n2, ...]``: after x0, n1 steps of d1, then n2 of d2..."""
    if not x:
        return []
    out = [x[0]]
    for a, b in pairwise(x):
        d = b - a
        if len(out) > 1 and out[-2] == d:
            out[-1] += 1
        else:
            out += [d, 1]
    return out


def script_json(obj: object) -> str:
    """``obj`` as JSON to place inside a <script> element: ASCII only, and no ``<``,
    ``>`` or ``&`` (written as \\u escapes, which JSON.parse reads back)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    for ch, escape in SCRIPT_UNSAFE.items():
        text = text.replace(ch, escape)
    return text
