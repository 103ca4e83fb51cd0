"""How runs are named and ordered on screen: short names that tell them apart, in the
order people count, with what cannot be shown written as escapes. Pure."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Final

_DIGITS: Final = re.compile("([0-9]+)")
_UNDECODABLE: Final = range(0xDC80, 0xDD00)
"""Where Python keeps a byte of a file name that is no UTF-8 (``os.fsdecode``'s
surrogateescape): byte 0xff is U+DCFF."""

NaturalKey = tuple[tuple[int, str], ...]
"""A name as it sorts: numbers as numbers, text without case."""

GROUP_MARK: Final = "#"
"""Between a run's file and its group, in the run's name (``run.jsonl#A``)."""
MARK_IN_FILE: Final = "\\x23"
"""How a ``#`` of the file itself is written in a run's name: as ``visible`` writes what
cannot be shown as itself."""


def run_name(file: str, group: str | None) -> str:
    """How a run is named: its file, and its group after a ``#`` when it has one.

    A ``#`` in the file's own name is written ``\\x23``, so that the first ``#`` of a
    run's name is always the one before its group and no run takes another's name: group
    ``A`` of ``x.jsonl`` is ``x.jsonl#A``, the file ``x.jsonl#A`` is ``x.jsonl\\x23A``.
    (Runs are told apart, and drawn in the table, by their names.)
    """
    file = file.replace(GROUP_MARK, MARK_IN_FILE)
    return file if group is None else f"{file}{GROUP_MARK}{group}"


def collide(names: list[str]) -> bool:
    """Whether two of the names would name their runs alike: the same name, or one with a
    ``#`` where another spells ``\\x23`` (``visible(strict=True)`` tells those apart)."""
    return len({run_name(n, None) for n in names}) < len(names)


@lru_cache(maxsize=4096)
def natural_key(name: str) -> NaturalKey:
    """A sort key in which the numbers in a name count as numbers: seed2 before seed10.

    Case is ignored. Text and digit runs alternate from a text run (maybe empty), so two
    keys compare text with text and numbers with numbers.
    """
    parts = _DIGITS.split(name.casefold())
    return tuple((int(p), "") if i % 2 else (0, p) for i, p in enumerate(parts))


def short_names(paths: list[str]) -> list[str]:
    """The shortest names that tell the paths apart: the directories they all start with
    and the file name they all end with left out, then an extension they all share.

    ``runs/seed1/run.jsonl`` and ``runs/seed12/run.jsonl`` are ``seed1`` and ``seed12``.
    One path keeps its name as given.
    """
    if len(paths) < 2 or len(set(paths)) < len(paths):
        return list(paths)
    split = [p.split(os.sep) for p in paths]
    head = 0
    while all(len(parts) > head + 1 for parts in split) and len({s[head] for s in split}) == 1:
        head += 1
    if head == 1 and not split[0][0]:  # only the root is shared: /a/x and /b/y stay absolute
        head = 0
    tail = 0
    while (
        all(len(parts) - head > tail + 1 for parts in split)
        and len({s[len(s) - 1 - tail] for s in split}) == 1
    ):
        tail += 1
    kept = [parts[head : len(parts) - tail] for parts in split]
    ext = {os.path.splitext(parts[-1])[1] for parts in kept}
    if len(ext) == 1 and (suffix := ext.pop()):
        stripped = [[*parts[:-1], parts[-1][: -len(suffix)]] for parts in kept]
        if all(parts[-1] for parts in stripped):
            kept = stripped
    names = [os.sep.join(parts) for parts in kept]
    return names if len(set(names)) == len(names) else list(paths)


def visible(name: str, strict: bool = False) -> str:
    """``name`` with what would not be seen written as an escape: a byte that is no UTF-8
    as ``\\xff``, a character that prints nothing or moves the cursor (controls, format
    characters such as U+200B, line breaks, spaces other than ' ') as ``\\x1b``,
    ``\\u200b`` or ``\\U000e0001``.

    Two folders ``run\\xff`` and ``run\\xfe`` are otherwise both shown ``run``. With
    ``strict``, every character but printable ASCII is escaped, and the backslash doubled:
    different names then always look different, whatever a terminal drops.
    """
    if name.isprintable() and (not strict or (name.isascii() and "\\" not in name)):
        return name
    return "".join(_escaped(ch, strict) for ch in name)


def _escaped(ch: str, strict: bool) -> str:
    if strict and ch == "\\":
        return "\\\\"
    if ch.isprintable() and (not strict or ch.isascii()):
        return ch
    code = ord(ch)
    if code in _UNDECODABLE:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
