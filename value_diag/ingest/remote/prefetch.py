"""A remote file followed on a thread of its own, so that the network never holds up
watch's drawing or its signals.

The thread polls the file (RemoteTail: one metadata call, then a ranged read of what was
added) every ``interval`` seconds, backing off while the calls fail, and queues what it
learns in order: changes and blocks of bytes. The watch reads the queue without waiting,
through the interface of ingest/tail.Tail.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Final

from value_diag.errors import ReadError
from value_diag.ingest.files import BLOCK
from value_diag.ingest.remote.tail import RemoteTail
from value_diag.ingest.tail import Change
from value_diag.ingest.urls import public

AHEAD: Final = 32
"""Blocks the thread fetches ahead of the watch at most (memory stays bounded while a
big file is read from the top)."""
BACKOFF_MAX_S: Final = 30.0
"""Longest wait between two looks at a file whose calls keep failing (s)."""


def _nothing() -> None:
    return None


class Prefetched:
    """Follows a remote file on a thread; the interface of ingest/tail.Tail.

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
        """Raises ReadError if the backend of the URL's scheme is not installed."""
        self.path = url
        self.error: str | None = None
        self.mtime: float | None = None
        self.interval = interval
        self._tail = RemoteTail(url, block)
        self._wake = wake
        self._queue: deque[Change | bytes] = deque()
        self._errors: deque[str | None] = deque()
        """The error of each change queued, in order."""
        self._ready = threading.Condition()
        self._looked = False
        """The thread's first look is through: all it found is queued."""
        self._closed = threading.Event()
        # A thread's name is shown with an error it did not catch: the URL without secrets.
        name = f"follow {public(url)}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

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
                self._ready.notify_all()
                return change
        return None

    def read(self) -> Iterator[bytes]:
        """The bytes queued before the next change."""
        while True:
            with self._ready:
                if not self._queue or isinstance(self._queue[0], Change):
                    return
                block = self._queue.popleft()
                self._ready.notify_all()
            assert isinstance(block, bytes)
            yield block

    def fail(self, reason: str) -> Change:
        """Notes a failure seen by the reader (the thread goes on looking)."""
        self.error = reason
        return Change.ERROR

    def close(self) -> None:
        """Stops the thread (it ends after the call it is in, within its time bound)."""
        self._closed.set()
        with self._ready:
            self._ready.notify_all()

    # -- the thread

    def _run(self) -> None:
        wait = self.interval
        while not self._closed.is_set():
            failed = self._look()
            if not self._looked:
                with self._ready:
                    self._looked = True
                self._wake()
            wait = min(wait * 2, BACKOFF_MAX_S) if failed else self.interval
            self._closed.wait(wait)

    def _look(self) -> bool:
        """One look at the file; True if it failed."""
        change = self._tail.sync()
        if change is not None:
            self._put(change, self._tail.error)
        if change is Change.ERROR:
            return True
        try:
            for block in self._tail.read():
                if not self._put(block):
                    return False
        except ReadError:
            self._put(Change.ERROR, self._tail.error)
            return True
        return False

    def _put(self, item: Change | bytes, error: str | None = None) -> bool:
        """Queues an item, waiting for room for bytes; False once closed."""
        with self._ready:
            while (
                isinstance(item, bytes)
                and sum(isinstance(q, bytes) for q in self._queue) >= AHEAD
                and not self._closed.is_set()
            ):
                self._ready.wait()
            if self._closed.is_set():
                return False
            self._queue.append(item)
            if isinstance(item, Change):
                self._errors.append(error)
        self._wake()
        return True


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
