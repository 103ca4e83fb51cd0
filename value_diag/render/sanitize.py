"""Strings from a file made safe to print: no escape sequences, controls or invisible characters."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_STRING: Final = 200  # Longest string from the file (or run name) kept before a line is fitted

ESCAPE_SEQUENCE: Final = re.compile(
    "(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erases
    "|(?:\x1b[]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)?"  # OSC/DCS/..
    "|\x1b[ -/]*[0-~]"  # the other escape sequences
)
"""A terminal escape sequence; removed whole, so its parameters are not shown as text."""
HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Controls, format characters, surrogates, private use, unassigned, line breaks."""
INVISIBLE: Final = frozenset(
    chr(cp)
    for first, last in (
        (0x034F, 0x034F),  # combining grapheme joiner
        (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
        (0x17B4, 0x17B5),  # Khmer inherent vowels
        (0x180B, 0x180D),  # Mongolian free variation selectors
        (0x180F, 0x180F),
        (0x3164, 0x3164),  # Hangul filler
        (0xFE00, 0xFE0F),  # variation selectors
        (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
        (0xE0100, 0xE01EF),  # variation selectors supplement
    )
    for cp in range(first, last + 1)
)
"""Default-ignorable code points outside those categories (letters and marks that show
nothing): a name could hide behind them or look like another."""


def clean(value: str, ascii_only: bool = False, *, limit: int | None = MAX_STRING) -> str:
    """A string from the file made safe to print: no escape sequences, controls or invisibles.

    Cut to ``limit`` characters (with an ellipsis); None keeps it whole, for a message
    whose reason comes last.
    """
    kept = [
        ch
        for ch in ESCAPE_SEQUENCE.sub("", value if limit is None else value[: limit * 2])
        if unicodedata.category(ch) not in HIDDEN_CATEGORIES and ch not in INVISIBLE
    ]
    text = "".join(kept)
    if ascii_only:
        text = text.encode("ascii", "replace").decode("ascii")
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + ("..." if ascii_only else "…")
    return text


def clean_name(name: str, ascii_only: bool = False) -> str:
    """A run's name (its path or URL) made safe to print, at most ``MAX_STRING`` cells.

    A longer one loses its middle, not its end: the file name and the folders nearest it
    tell runs apart (a Ray Tune trial's folder holds its parameters).
    """
    return middle(clean(name, ascii_only, limit=None), MAX_STRING, ascii_only)


def middle(text: str, width: int, ascii_only: bool = False) -> str:
    """``text`` in at most ``width`` cells, its middle cut out for an ellipsis if too long.

    The end keeps twice as many cells as the start: a path's file name tells runs apart.
    """
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    mark = "..." if ascii_only else "…"
    room = width - len(mark)
    if room <= 0:
        return mark[: max(width, 0)]
    head = _fit(text, room // 3)
    tail = _fit(text[::-1], room - cell_len(head))[::-1]
    return head + mark + tail


def _fit(text: str, width: int) -> str:
    """The longest start of ``text`` that takes at most ``width`` cells."""
    from rich.cells import cell_len

    used = 0
    for i, ch in enumerate(text):
        used += cell_len(ch)
        if used > width:
            return text[:i]
    return text
