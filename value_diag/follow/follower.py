"""One followed source: its tail, its line scanner (or its reader) and its folded state."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from value_diag.errors import ReadError
from value_diag.ingest.changes import FileTail
from value_diag.ingest.files import display_name
from value_diag.ingest.files import reason as source_reason
from value_diag.ingest.fold import FileState, fold_file
from value_diag.ingest.foreign.reading import HEAD, Converted, format_from, head_of, needs_head
from value_diag.ingest.lines import LineScanner
from value_diag.ingest.parallel import Stop, catch_up
from value_diag.ingest.tail import RESTARTS, Change, Tail
from value_diag.ingest.urls import is_url
from value_diag.options import KEPT_UPDATES
from value_diag.state import FoldState

if TYPE_CHECKING:
    from value_diag.ingest.remote.prefetch import Prefetched

PASS_BLOCK: Final = 256 << 10
"""Bytes read between two looks at the clock: folding them takes a few ms at most."""
REMOTE_POLL_S: Final = 2.0
"""How often a remote file (a URL) is looked at, unless --poll says otherwise (s): one
metadata call each time, and a ranged read of what was added."""
CONNECTING: Final = "connecting"
"""The note of a remote file until its first look is read through (it is read on a
thread): drawn on a terminal, never written to a log (see ``Followed.ready``)."""
NOTE_S: Final = 3.0
"""How long a note about a change to the file (created, recreated, truncated, replaced)
stays in the frame (s). Notes about a state (waiting for the file, a read error) stay
while it lasts."""
FADING: Final = frozenset({Change.CREATED, Change.RECREATED, Change.TRUNCATED, Change.REPLACED})
"""Changes that are events rather than states: their note goes after NOTE_S."""


def _never() -> bool:
    return False


def _nothing() -> None:
    return None


class Followed:
    """One followed source: its tail, its line scanner and its runs' folded states.

    ``note`` says what happened to the file. A change (created, recreated, truncated,
    replaced) is noted for NOTE_S seconds of the clock passed to ``update``, then the note
    goes without counting as a change of the frame: it is gone at the next redraw, whether
    that is for new records or for the age. "waiting for" and read errors stay while true.

    A trainer's own log (SB3's progress.csv, a TensorBoard event file, Tune's result.json,
    verl's JSON lines: ingest/foreign) is told by its name, or a ``.jsonl`` by its first
    line once that is whole (a remote one's from the bytes its thread reads from the top),
    each time the file is read from the top. Its bytes are kept,
    and each time it grows they are converted again by its reader and only the records
    beyond those already folded are folded (ingest/foreign/reading.Converted).
    """

    def __init__(
        self,
        path: str,
        history: int = 0,
        stop: Stop = _never,
        *,
        poll: float = REMOTE_POLL_S,
        wake: Callable[[], None] = _nothing,
    ) -> None:
        """A URL is followed by its backend's thread, looking every ``poll`` seconds and
        calling ``wake`` when it has news (see ingest/remote/prefetch.py).

        Raises:
            ReadError: the URL's backend is not installed (the remote extra).
        """
        self.path = path
        self.name = display_name(path)
        self.history = history
        self.stop = stop
        """Asked while a large file is read from the top: True ends the reading."""
        self.scanner = LineScanner()
        self.file = FileState.empty(history, KEPT_UPDATES)
        """The runs of the file (one per group once it has two groups or more)."""
        self.note: str | None = None
        self.fades_at: float | None = None
        """When the note about a change goes (the clock of ``update``); None: it stays."""
        self.pending = False
        """The last update stopped at its deadline with bytes left to read."""
        self.remote = is_url(path)
        """Followed by its backend's thread, which wakes the loop when it has news."""
        self.ready = not self.remote
        """Whether the file's state says what it held at a first look: a remote file's is
        not until that look (on its thread) has been read through. Before, its frame is
        only a placeholder saying CONNECTING, and no frame of it is written."""
        self.decided = False
        """Whether the file's format is told."""
        self.reader: Converted | None = None
        """The reader of a trainer's own log, once the file is told to be one."""
        self._bytes = bytearray()
        """A trainer's own log as read so far, for its reader to convert again."""
        self.tail: FileTail
        self._prefetched: Prefetched | None = None
        if self.remote:
            from value_diag.ingest.remote.prefetch import Prefetched

            self._prefetched = Prefetched(path, poll, wake, PASS_BLOCK)
            self.tail = self._prefetched
            self.note = CONNECTING
        else:
            self.tail = Tail(path, PASS_BLOCK)

    @property
    def state(self) -> FoldState:
        """The file folded as one run."""
        return self.file.whole

    def update(self, now: float, deadline: float = math.inf) -> bool:
        """Takes in what happened to the file, reading until ``deadline`` (time.monotonic).

        Returns True if the frame changed, or the file became ``ready``. At least one
        block is read; whatever is left at the deadline sets ``pending`` for the next pass.

        Raises:
            Interrupted: ``stop`` ended the reading of a large file from the top.
        """
        if self.fades_at is not None and now >= self.fades_at:
            self.note, self.fades_at = None, None
        before = (self.file, self.note)
        self.pending = False
        change = self.tail.sync()
        if change is not None:
            self.note = _describe(change, self.path, self.tail.error)
            self.fades_at = now + NOTE_S if change in FADING else None
        # A record is as old as the write that brought it, also when it was there at start;
        # a write time ahead of the clock (skew) counts from now, so that its age grows.
        written = min(self.tail.mtime, now) if self.tail.mtime is not None else now
        try:
            if change in RESTARTS:
                self._restart(written)
            if not self.decided:
                self._decide(written)
            if self.reader is not None:
                self._convert(self.reader, written)
            elif self.decided:
                for block in self.tail.read():
                    self.file = fold_file(self.file, self.scanner.feed(block), written)
                    if time.monotonic() >= deadline or self.stop():
                        self.pending = True
                        break
            self.pending = self.pending or self.tail.backlog
        except (OSError, ReadError) as exc:
            # Let go of the file: the next look opens it again and reads it from the top.
            why = source_reason(exc) if isinstance(exc, OSError) else str(exc)
            self.tail.fail(self.tail.error or why)
            self.note = _describe(Change.ERROR, self.path, self.tail.error)
            self.fades_at = None
        changed = (self.file, self.note) != before
        if not self.ready and self._prefetched is not None and self._prefetched.settled:
            self.ready = not self.pending
            changed = changed or self.ready
        return changed

    def announce(self, note: str, now: float) -> None:
        """Notes an event about the source (a switch to a newer run) for NOTE_S seconds."""
        self.note, self.fades_at = note, now + NOTE_S

    def close(self) -> None:
        """Lets go of the file (a remote one's thread ends)."""
        self.tail.close()

    def _restart(self, written: float) -> None:
        """Reads the file from the top with a fresh state: value-diag's lines of a large
        one in parts, at once; a ``.jsonl`` once its first line tells its format."""
        self.scanner = LineScanner()
        self.file = FileState.empty(self.history, KEPT_UPDATES)
        self.reader = None
        self._bytes = bytearray()
        self.decided = False

    def _decide(self, written: float) -> None:
        """Tells the file's format, if it can be told yet (a ``.jsonl`` by its first line,
        which may still be being written); then reads it as that format from the top.

        Raises:
            OSError: the first line cannot be read.
            ReadError: a remote one's cannot, or its reader needs an extra.
        """
        fd = self.tail.fd
        if fd is None and not self.remote:
            return
        head = b""
        if needs_head(self.path):
            head = head_of(fd) if fd is not None else self._head()
            if b"\n" not in head and len(head) < HEAD:
                return  # the first line is not whole yet
        self.decided = True
        fmt = format_from(self.path, head)
        if fmt is None:
            self._catch_up(written)
            if self._bytes:  # a remote file's first bytes, read to tell its format
                self.file = fold_file(self.file, self.scanner.feed(bytes(self._bytes)), written)
                self._bytes = bytearray()
        else:
            self.reader = Converted(fmt, self.history, KEPT_UPDATES)
            self.file = self.reader.file
            if self._bytes:
                self.file = self.reader.update(bytes(self._bytes), written)

    def _head(self) -> bytes:
        """A remote file's first HEAD bytes, or as many as its thread has read, kept in
        ``_bytes`` (a remote file is read from the top only through ``tail.read()``).

        Raises:
            ReadError: the file cannot be read.
        """
        for block in self.tail.read():
            self._bytes += block
            if b"\n" in block or len(self._bytes) >= HEAD:
                break
        return bytes(self._bytes[:HEAD])

    def _convert(self, reader: Converted, written: float) -> None:
        """Takes what was appended to a trainer's own log; when it grew, its reader
        converts the whole of it again and the new records are folded.

        Raises:
            ReadError: the file cannot be read, or its reader needs an extra.
        """
        grew = False
        for block in self.tail.read():
            self._bytes += block
            grew = True
            if self.stop():
                self.pending = True
                break
        if grew:
            self.file = reader.update(bytes(self._bytes), written)

    def _catch_up(self, written: float) -> None:
        """Reads value-diag's lines of the file from the top: a large one in parts."""
        if self.tail.fd is None:
            return
        done = catch_up(
            self.tail.fd,
            self.tail.size(),
            written,
            history=self.history,
            recent=KEPT_UPDATES,
            name=self.name,
            stop=self.stop,
        )
        self.file = done.file
        self.scanner.lines = done.lines
        self.tail.skip_to(done.offset)


def _describe(change: Change, path: str, error: str | None) -> str | None:
    name = Path(display_name(path)).name
    return {
        Change.OPENED: None,
        Change.MISSING: f"waiting for {name}",
        Change.CREATED: "created",
        Change.DELETED: f"deleted; waiting for {name}",
        Change.RECREATED: "recreated; reading the new file",
        Change.TRUNCATED: "truncated; reading from the top",
        Change.REPLACED: "replaced; reading the new file",
        Change.ERROR: f"read error: {error}; retrying",
    }[change]
