"""Bytes in arbitrary chunks -> the complete lines that carry our names, numbered. Pure.

Lines that name none of the known keys are never cut out or decoded: the scanner
searches whole blocks for the names and counts newlines, so most of a real log is
only looked at by C code. A line is cut out once its newline has arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from value_diag.ingest.parse import FINDER, KNOWN_NAMES, BadLine
from value_diag.schema import MAX_LINE as MAX_LINE  # re-exported: the limit has one home

_OVERLAP: Final = max(len(n) for n in KNOWN_NAMES) + 2
"""Bytes kept from a dropped stretch so that a name cut across chunks is still seen."""

Line = tuple[int, bytes | BadLine]
"""A 1-based line number and the line without its newline, or why it was not loaded."""


class LineScanner:
    """Finds complete candidate lines in a byte stream fed in chunks of any size.

    Memory stays bounded: an unfinished line is held only while it is shorter than
    ``max_line``; past that only a short tail is kept, to tell whether it was ours.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self.lines = 0
        """Complete lines seen so far."""
        self._pending = bytearray()
        """The unfinished line, while it is short enough to load."""
        self._tail = b""
        """The last bytes of an unfinished line too long to load."""
        self._pending_len = 0
        """Length of the unfinished line, including bytes already dropped."""
        self._pending_is_candidate = False
        self._dropped = False

    def feed(self, data: bytes) -> list[Line]:
        """Takes the next chunk; returns the candidate lines it completed, in order."""
        if not data:
            return []
        out: list[Line] = []
        first_nl = data.find(b"\n")
        if first_nl < 0:
            self._grow(data)
            return out
        # Finish the unfinished line with the head of this chunk.
        if self._pending_len:
            self._grow(data[:first_nl])
            self.lines += 1
            line = self._finish()
            if line is not None:
                out.append((self.lines, line))
        else:
            head = data[:first_nl]
            self.lines += 1
            if head and FINDER.search(head) >= 0:
                out.append((self.lines, _fit(head, self.max_line)))
        start = first_nl + 1
        end = data.rfind(b"\n") + 1
        if end > start:
            self._scan_block(data, start, end, out)
        if end < len(data):
            self._grow(data[end:])
        return out

    def _scan_block(self, data: bytes, start: int, end: int, out: list[Line]) -> None:
        """Complete lines data[start:end] (end just past a newline)."""
        base = self.lines
        scan = FINDER.scan
        pos = start  # always at a line start
        while True:
            hit, newlines = scan(data, pos, end)
            base += newlines
            if hit < 0:
                break
            line_start = data.rfind(b"\n", pos, hit) + 1 or pos
            line_end = data.find(b"\n", hit, end)
            base += 1
            out.append((base, _fit(data[line_start:line_end], self.max_line)))
            pos = line_end + 1
        self.lines = base

    def _grow(self, piece: bytes) -> None:
        """Appends to the unfinished line, keeping no more than can still be used."""
        old = self._pending_len
        self._pending_len += len(piece)
        if self._dropped:
            if not self._pending_is_candidate:
                tail = self._tail + piece
                self._pending_is_candidate = FINDER.search(tail) >= 0
                self._tail = tail[-_OVERLAP:]
            return
        self._pending += piece
        if not self._pending_is_candidate:
            found = FINDER.search(self._pending, max(0, old - _OVERLAP))
            self._pending_is_candidate = found >= 0
        if self._pending_len > self.max_line:
            # Too long to load: whatever it turns out to be, only a short tail is kept.
            self._dropped = True
            self._tail = bytes(self._pending[-_OVERLAP:])
            self._pending = bytearray()

    def _finish(self) -> bytes | BadLine | None:
        """Ends the unfinished line at a newline; returns it if it is ours."""
        line: bytes | BadLine | None = None
        if self._pending_is_candidate:
            if self._dropped:
                line = BadLine(f"line too long ({self._pending_len} bytes)")
            else:
                line = bytes(self._pending)
        self._pending = bytearray()
        self._tail = b""
        self._pending_len = 0
        self._pending_is_candidate = False
        self._dropped = False
        return line

    def read(self, chunks: Iterable[bytes], *, finish: bool = True) -> Iterator[Line]:
        """The candidate lines these chunks complete, in order; with ``finish``, the last
        line too, even without a newline (the stream ends with these chunks)."""
        for chunk in chunks:
            yield from self.feed(chunk)
        if finish:
            yield from self.finish()

    def finish(self) -> list[Line]:
        """End of input: a last line without a newline counts as complete."""
        if not self._pending_len:
            return []
        self.lines += 1
        line = self._finish()
        return [] if line is None else [(self.lines, line)]


def _fit(line: bytes, max_line: int) -> bytes | BadLine:
    if len(line) > max_line:
        return BadLine(f"line too long ({len(line)} bytes)")
    return line
