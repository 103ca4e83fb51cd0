"""A remote file followed by its backend's thread, so that the network never holds up
watch's drawing or its signals.

The thread of the file's store or host (pollers.py, one per backend) looks at the file
(RemoteTail: one metadata call, then a ranged read of what was added) every ``interval``
seconds, backing off while the calls fail, and queues what it learns in order: changes
and blocks of bytes. The watch reads the queue without waiting, through the interface of
ingest/changes.FileTail, as it reads a local ingest/tail.Tail.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Final

from value_diag.errors import ReadError
from value_diag.ingest.changes import Change
from value_diag.ingest.files import BLOCK
from value_diag.ingest.remote.pollers import follow
from value_diag.ingest.remote.tail import RemoteTail

AHEAD: Final = 32
"""Blocks fetched ahead of the watch at most, per file (memory stays bounded while a big
file is read from the top)."""
TURN: Final = 4
"""Blocks of a read in progress fetched in one turn: the other files of the backend get
theirs in between."""
BACKOFF_MAX_S: Final = 30.0
"""Longest wait between two looks at a file whose calls keep failing (s)."""


def _nothing() -> None:
    return None


class Prefetched:
    """Follows a remote file on its backend's thread; an ingest.changes.FileTail.

    ``sync()`` returns the next change the thread saw (None when the queue starts with
    bytes, or holds nothing), ``read()`` the bytes queued up to the next change.
    ``backlog`` says more is queued. ``fd`` is None: after a change that restarts the
    file, ``read()`` gives it from its first byte. ``wake`` is called from the thread
    when something was queued, and when its first look is through (``settled``).
    """

    def __init__(
        self,
        url: str,
        interval: float,
        wake: Callable[[], None] = _nothing,
        block: int = BLOCK,
    ) -> None:
        """Raises ReadError if the backend of the URL's scheme is not installed (or the
        URL's host is no host)."""
        self.path = url
        self.error: str | None = None
        self.mtime: float | None = None
        self.interval = interval
        self._tail = RemoteTail(url, block)
        self._wake = wake
        self._queue: deque[Change | bytes] = deque()
        self._errors: deque[str | None] = deque()
        """The error of each change queued, in order."""
        self._ready = threading.Lock()
        self._looked = False
        """The first look is through: all it found is queued."""
        self._closed = False
        self._next = time.monotonic()
        """When the next look is due (time.monotonic)."""
        self._wait = interval
        """The pause after the last look (doubled while looks fail)."""
        self._reading: Iterator[bytes] | None = None
        """The blocks of the look in progress still to fetch."""
        self._poller = follow(url, self)

    @property
    def fd(self) -> int | None:
        """Always None: there is no descriptor to read a remote file in parts."""
        return None

    @property
    def backlog(self) -> bool:
        """Whether more is queued than the last ``read()`` gave."""
        with self._ready:
            return bool(self._queue)

    @property
    def settled(self) -> bool:
        """Whether the first look at the file is through and all it queued has been read:
        until then, what was read is less than the file held (or nothing is known yet)."""
        with self._ready:
            return self._looked and not self._queue

    def size(self) -> int:
        """0: the size is the thread's; nothing is read by descriptor."""
        return 0

    def skip_to(self, offset: int) -> None:
        """Nothing to skip: bytes come from the queue only."""

    def sync(self) -> Change | None:
        """The next change the thread saw, if the queue starts with one."""
        with self._ready:
            self.mtime = self._tail.mtime
            if self._queue and isinstance(self._queue[0], Change):
                change = self._queue.popleft()
                assert isinstance(change, Change)
                self.error = self._errors.popleft()
                return change
        return None

    def read(self) -> Iterator[bytes]:
        """The bytes queued before the next change."""
        while True:
            with self._ready:
                if not self._queue or isinstance(self._queue[0], Change):
                    return
                block = self._queue.popleft()
            self._poller.poke()  # room for the read in progress
            assert isinstance(block, bytes)
            yield block

    def fail(self, reason: str) -> Change:
        """Notes a failure seen by the reader (the thread goes on looking)."""
        self.error = reason
        return Change.ERROR

    def close(self) -> None:
        """Lets go of the file (the call in progress, if any, ends within its bound)."""
        self._closed = True
        self._poller.remove(self)

    # -- on the backend's thread (pollers.Member)

    def due(self) -> float | None:
        """Now while a read is in progress and its queue has room (None while full),
        else when the next look is."""
        if self._reading is None:
            return self._next
        with self._ready:
            full = sum(isinstance(q, bytes) for q in self._queue) >= AHEAD
        return None if full else 0.0

    def step(self) -> None:
        """A look at the file, or the next blocks of the read in progress."""
        if self._reading is None:
            change = self._tail.sync()
            if change is not None:
                self._put(change, self._tail.error)
            if change is Change.ERROR:
                self._looked_at(failed=True)
                return
            self._reading = iter(self._tail.read())
        try:
            for _ in range(TURN):
                block = next(self._reading, None)
                if block is None:
                    self._looked_at(failed=False)
                    return
                self._put(block)
                if self.due() is None:
                    return
        except ReadError:
            self._put(Change.ERROR, self._tail.error)
            self._looked_at(failed=True)

    def _looked_at(self, failed: bool) -> None:
        """A look is through: the next one after the interval, or a longer wait."""
        self._reading = None
        self._wait = min(self._wait * 2, BACKOFF_MAX_S) if failed else self.interval
        self._next = time.monotonic() + self._wait
        if not self._looked:
            with self._ready:
                self._looked = True
            self._wake()

    def _put(self, item: Change | bytes, error: str | None = None) -> None:
        """Queues an item (nothing once closed)."""
        if self._closed:
            return
        with self._ready:
            self._queue.append(item)
            if isinstance(item, Change):
                self._errors.append(error)
        self._wake()


LIST_EVERY: Final = 5
"""A remote directory, prefix or pattern is listed again for new run files every this many
looks at its files (every 10 s at the default 2 s): a listing costs more than a look at a
file, and new runs are rarer than new lines."""


class Listing:
    """The run files a remote directory or pattern names, listed again on a thread every
    ``interval`` seconds; ``files`` is the newest listing (the first one, until then).

    ``wake`` is called when the files change, and when a listing fails for another
    reason than the one before or works again (``error`` is the first listing's failure).
    """

    def __init__(
        self,
        list_files: Callable[[], list[str]],
        first: list[str],
        interval: float,
        wake: Callable[[], None] = _nothing,
        error: str | None = None,
    ) -> None:
        self.files = first
        self.error = error
        """Why the last listing failed, if it did (the files of the one before stay)."""
        self._list = list_files
        self._wake = wake
        self._interval = interval
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="list runs", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stops listing."""
        self._closed.set()

    def _run(self) -> None:
        wait = self._interval
        while not self._closed.wait(wait):
            try:
                files = self._list()
            except ReadError as exc:
                said, self.error = self.error, str(exc)
                wait = min(wait * 2, BACKOFF_MAX_S * 4)
                if said != self.error:
                    self._wake()
                continue
            said, self.error, wait = self.error, None, self._interval
            if files != self.files or said is not None:
                self.files = files
                self._wake()
