"""Quoted names found in bytes, and newlines counted on the way. Pure.

The compiled search (``_finder.c``) tests sixteen bytes at a time, several GB/s; where it
was not built (no C compiler at install), the re module does the same job at about
1 GB/s. Both give the same answers.

With ``escapes`` both also find the JSON escapes ``\\u0040`` to ``\\u007F`` (ESCAPE): a key
can spell a name with them (``"v\\u005freturn_correlation"``) and then holds none of the
name's quoted bytes. JSON writers do not escape letters, so real logs hardly have them.
"""

from __future__ import annotations

import sys
from typing import Final, Protocol

try:
    from value_diag.ingest import _finder
except ImportError:  # installed without a C compiler
    _finder = None  # type: ignore[assignment]

_DENSE: Final = 64
"""Newlines found one by one before checking whether the lines are short."""
_SHORT_LINE: Final = 256
"""Average line length (bytes) below which counting in one call is faster."""
ESCAPE: Final = rb"\\u00[4-7][0-9A-Fa-f]"
"""A JSON escape of a byte 0x40-0x7F: the letters and the underscore, of which every
known name is made (as a regular expression over bytes)."""


class Finder(Protocol):
    """Searches buffers for a fixed set of quoted names."""

    def search(self, data: bytes | bytearray, pos: int = 0, end: int = ..., /) -> int:
        """Offset of the leftmost quoted name wholly inside data[pos:end], or -1."""
        ...

    def scan(self, data: bytes | bytearray, pos: int = 0, end: int = ..., /) -> tuple[int, int]:
        """search's offset, and the newlines in data[pos:offset] (data[pos:end] if -1)."""
        ...


COMPILED: Final = _finder is not None
"""Whether the compiled search was built (`value-diag --version` says)."""


def make_finder(names: tuple[str, ...], *, escapes: bool = False) -> Finder:
    """The compiled finder for ``names`` (each searched for in double quotes), else re's;
    with ``escapes``, ESCAPE counts as a find too."""
    if _finder is None:
        return RegexFinder(names, escapes=escapes)
    return _finder.Finder(quoted(names), escapes=escapes)


def quoted(names: tuple[str, ...]) -> tuple[bytes, ...]:
    """The byte strings searched for: each name in double quotes."""
    return tuple(f'"{name}"'.encode() for name in names)


class RegexFinder:
    """The search with the re module."""

    def __init__(self, names: tuple[str, ...], *, escapes: bool = False) -> None:
        import re

        pattern = f'"(?:{_alternation(sorted(names))})"'.encode()
        self._search = re.compile(pattern + b"|" + ESCAPE if escapes else pattern).search

    def search(self, data: bytes | bytearray, pos: int = 0, end: int = sys.maxsize, /) -> int:
        """Offset of the leftmost quoted name wholly inside data[pos:end], or -1."""
        found = self._search(data, pos, end)
        return -1 if found is None else found.start()

    def scan(
        self, data: bytes | bytearray, pos: int = 0, end: int = sys.maxsize, /
    ) -> tuple[int, int]:
        """search's offset, and the newlines in data[pos:offset] (data[pos:end] if -1)."""
        pos, end = max(pos, 0), min(end, len(data))
        found = self.search(data, pos, end)
        return found, count_newlines(data, pos, end if found < 0 else max(found, pos))


def _alternation(words: list[str]) -> str:
    """A regex matching any of ``words`` (sorted), shared prefixes merged into one branch.

    The engine then tests one byte per branch after each quote instead of every word:
    about twice as fast over a real log as the plain ``a|b|c`` form.
    """
    import re

    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[:1], []).append(word)
    branches = []
    for group in groups.values():
        prefix = group[0]
        while not all(w.startswith(prefix) for w in group):
            prefix = prefix[:-1]
        rests = [w[len(prefix) :] for w in group]
        branch = re.escape(prefix)
        if len(group) > 1:
            branch += f"(?:{_alternation([r for r in rests if r])})" + ("?" if "" in rests else "")
        branches.append(branch)
    return "|".join(branches)


def count_newlines(data: bytes | bytearray, start: int, end: int) -> int:
    """Newlines in data[start:end].

    ``bytes.count`` walks every byte; ``find`` jumps between newlines with memchr, which
    is about four times faster on logs of kilobyte lines. Dense text goes back to count.
    """
    find = data.find
    n = 0
    pos = find(b"\n", start, end)
    while pos >= 0:
        n += 1
        if n == _DENSE and pos - start < _DENSE * _SHORT_LINE:
            return data.count(b"\n", start, end)
        pos = find(b"\n", pos + 1, end)
    return n
