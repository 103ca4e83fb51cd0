"""One followed source: its tail, its line scanner and its folded state."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Final

from value_diag.errors import ReadError
from value_diag.frame import Frame
from value_diag.ingest.files import display_name
from value_diag.ingest.files import reason as source_reason
from value_diag.ingest.fold import fold
from value_diag.ingest.lines import LineScanner
from value_diag.ingest.parallel import Stop, catch_up
from value_diag.ingest.tail import RESTARTS, Change, Tail
from value_diag.state import FoldState

PASS_BLOCK: Final = 256 << 10
"""Bytes read between two looks at the clock: folding them takes a few ms at most."""


def _never() -> bool:
    return False


class Followed:
    """One followed source: its tail, its line scanner and its folded state."""

    def __init__(self, path: str, history: int = 0, stop: Stop = _never) -> None:
        self.path = path
        self.name = display_name(path)
        self.history = history
        self.stop = stop
        """Asked while a large file is read from the top: True ends the reading."""
        self.tail = Tail(path, PASS_BLOCK)
        self.scanner = LineScanner()
        self.state = FoldState(history_len=history)
        self.note: str | None = None
        self.pending = False
        """The last update stopped at its deadline with bytes left to read."""

    def frame(self) -> Frame:
        """The current frame of this source."""
        return Frame(self.name, self.state, self.note)

    def update(self, now: float, deadline: float = math.inf) -> bool:
        """Takes in what happened to the file, reading until ``deadline`` (time.monotonic).

        Returns True if the frame changed. At least one block is read; whatever is left
        at the deadline sets ``pending`` for the next pass.

        Raises:
            Interrupted: ``stop`` ended the reading of a large file from the top.
        """
        before = (self.state, self.note)
        self.pending = False
        change = self.tail.sync()
        if change is not None:
            self.note = _describe(change, self.path, self.tail.error)
        # A record is as old as the write that brought it, also when it was there at start.
        written = self.tail.mtime if self.tail.mtime is not None else now
        try:
            if change in RESTARTS:
                self._restart(written)
            for block in self.tail.read():
                self.state = fold(self.state, self.scanner.feed(block), written)
                if time.monotonic() >= deadline or self.stop():
                    self.pending = True
                    break
        except (OSError, ReadError) as exc:
            # Let go of the file: the next look opens it again and reads it from the top.
            why = source_reason(exc) if isinstance(exc, OSError) else str(exc)
            self.tail.fail(self.tail.error or why)
            self.note = _describe(Change.ERROR, self.path, self.tail.error)
        return (self.state, self.note) != before

    def _restart(self, written: float) -> None:
        """Reads the file from the top with a fresh state: a large one in parts, at once."""
        self.scanner = LineScanner()
        self.state = FoldState(history_len=self.history)
        if self.tail.fd is None:
            return
        done = catch_up(
            self.tail.fd,
            self.tail.size(),
            written,
            history=self.history,
            name=self.name,
            stop=self.stop,
        )
        self.state = done.state
        self.scanner.lines = done.lines
        self.tail.skip_to(done.offset)


def _describe(change: Change, path: str, error: str | None) -> str | None:
    name = Path(path).name
    return {
        Change.OPENED: None,
        Change.MISSING: f"waiting for {name}",
        Change.DELETED: f"deleted; waiting for {name}",
        Change.TRUNCATED: "truncated; reading from the top",
        Change.REPLACED: "replaced; reading the new file",
        Change.ERROR: f"read error: {error}; retrying",
    }[change]
