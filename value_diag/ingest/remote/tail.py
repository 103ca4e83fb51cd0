"""Follows one remote file by polling: appends, re-uploads, truncation, deletion.

The remote twin of ingest/tail.py's Tail, with the same interface. Object stores send no
notifications and cannot append in place: a growing S3 object is uploaded again whole,
each time with a new ETag. So each ``sync()`` makes one metadata call (size, ETag or
mtime), and growth is told from a rewrite by the bytes just before the old end: they are
fetched again with the new ones, in the same ranged read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final, TypeVar

from value_diag.errors import ReadError
from value_diag.ingest.changes import Change, Seen, classify
from value_diag.ingest.files import BLOCK
from value_diag.ingest.remote.answers import Unranged
from value_diag.ingest.remote.backends import Remote, Stat, connect, require
from value_diag.ingest.remote.reasons import RemoteFailure
from value_diag.ingest.urls import public

T = TypeVar("T")

OVERLAP: Final = 64
"""Bytes before the old end read again with each append (the cost of telling an append from
an object rewritten whole and longer: if they differ, it is read from the top)."""


class RemoteTail:
    """Follows one remote file (a URL) by polling; an ingest.changes.FileTail, like
    ingest/tail.Tail.

    ``sync()`` makes one metadata call and, when the file grew, one ranged read of the new
    bytes (OVERLAP bytes before them included, to check the old end is unchanged);
    ``read()`` then yields the new bytes, in ranged reads of ``block`` bytes, up to the
    size seen by that sync. After a change in ingest.tail.RESTARTS ``read()`` starts
    from the first byte: there is no descriptor (``fd`` is None) for
    ingest.parallel.catch_up, and reading from the top is ``read()`` itself.

    Every call is time-bounded (ingest/remote/backends.py): a failure or a timeout
    makes ``sync()`` return Change.ERROR with the reason in ``error``, and the next
    ``sync()`` that succeeds returns Change.OPENED (read again from the top).
    """

    def __init__(self, url: str, block: int = BLOCK) -> None:
        """Raises ReadError if the backend of the URL's scheme is not installed."""
        require(url)
        self.path = url
        """The URL as given (with its credentials): only ``public(path)`` may be shown."""
        self.block = block
        self.offset = 0
        """Bytes of the current file consumed so far."""
        self.error: str | None = None
        """Why the last look failed, if it did."""
        self.mtime: float | None = None
        """Modification time of the file at the last look (seconds since the epoch)."""
        self._size = 0
        """Size of the file at the last look: ``read()`` reads up to it."""
        self._version: str | float | None = None
        """ETag (or mtime where there is none) at the last look."""
        self._following = False
        """A file is being followed: size and version are known."""
        self._ahead = b""
        """Bytes after ``offset`` fetched by sync, not yet given out by read."""
        self._signature = b""
        """The last OVERLAP bytes fetched, which must still be there when the file grows."""
        self._missing = False
        """The last look found nothing at the URL."""
        self._opened_once = False
        """A file at the URL has been followed (so one appearing now is a new one)."""

    @property
    def fd(self) -> int | None:
        """Always None: a remote file has no descriptor; ``read()`` reads from the top."""
        return None

    @property
    def backlog(self) -> bool:
        """False: ``read()`` gives what there is up to the size seen by the last sync."""
        return False

    def close(self) -> None:
        """Stops following the current file; the next sync starts afresh (connections stay)."""
        self._following = False
        self._ahead = b""

    def sync(self) -> Change | None:
        """Looks at the URL; returns what changed, or None if it was only appended to."""
        try:
            remote = connect(self.path)
            st = remote.stat()
        except FileNotFoundError:
            return self._gone()
        except RemoteFailure as exc:
            return self.fail(exc.reason)
        appeared = self._missing
        self._missing = False
        self.mtime = st.mtime
        if st.directory:
            self.close()
            return self.fail("a directory (give the run files)")
        if self._following:
            try:
                return self._compare(remote, st)
            except FileNotFoundError:
                return self._gone()
            except RemoteFailure as exc:
                return self.fail(exc.reason)
        seen = Seen(missing=appeared, opened=self._opened_once, failed=self.error is not None)
        self._restart(st)
        self.error = None
        self._opened_once = True
        return classify(seen, found=True)

    def size(self) -> int:
        """Size of the file at the last look (0 if none is followed)."""
        return self._size if self._following else 0

    def skip_to(self, offset: int) -> None:
        """Marks the bytes before ``offset`` as consumed (read by someone else).

        Raises:
            ReadError: the bytes before ``offset`` (kept to notice a rewrite) cannot be read.
        """
        if not self._following:
            return
        self.offset = offset
        self._ahead = b""
        start = max(0, offset - OVERLAP)
        self._signature = self._fetch(Remote.read, start, offset) if offset else b""

    def read(self) -> Iterator[bytes]:
        """The bytes appended since the last read, in blocks. Raises ReadError.

        From a server that does not answer ranged reads, the rest is read as one stream.
        """
        if not self._following:
            return
        if self._ahead:
            chunk, self._ahead = self._ahead, b""
            self.offset += len(chunk)
            yield chunk
        while self.offset < self._size:
            end = min(self._size, self.offset + self.block)
            try:
                chunk = self._fetch(Remote.cat, self.offset, end)
            except Unranged:
                yield from self._stream()
                return
            if not chunk:
                return
            self._take(chunk)
            yield chunk

    def fail(self, reason: str) -> Change:
        """Lets go of the file after a failed call; the next sync reads it from the top."""
        self.close()
        self.error = reason
        return Change.ERROR

    def _compare(self, remote: Remote, st: Stat) -> Change | None:
        """What happened to the followed file since the last look (None: nothing, or growth)."""
        version = st.tag or st.mtime
        if st.size < self._size:
            self._restart(st)
            return Change.TRUNCATED
        if st.size == self._size:
            if version != self._version:  # the same length, other bytes: uploaded again
                self._restart(st)
                return Change.REPLACED
            self.error = None
            return None
        if not self._ahead:
            fetched = self.offset
            start = fetched - len(self._signature)
            data = remote.read(start, min(st.size, fetched + self.block))
            if data[: len(self._signature)] != self._signature:  # rewritten, and longer
                self._restart(st)
                return Change.REPLACED
            self._ahead = data[len(self._signature) :]
            self._signature = data[-OVERLAP:]
        self._size, self._version = st.size, version
        self.error = None
        return None

    def _restart(self, st: Stat) -> None:
        """Follows the file from its first byte."""
        self._following = True
        self._size, self._version = st.size, st.tag or st.mtime
        self.offset = 0
        self._ahead = b""
        self._signature = b""

    def _gone(self) -> Change | None:
        gone = classify(Seen(missing=self._missing, opened=self._opened_once), found=False)
        if gone is not None:
            self._missing = True
            self.close()  # whatever failed before is no longer true: there is nothing to read
            self.error = None
        return gone

    def _stream(self) -> Iterator[bytes]:
        """The rest of the file up to the size seen, as one stream."""
        blocks = self._fetch(Remote.stream, self.offset, self._size, self.block)
        while True:
            chunk = self._fetch(lambda _: next(blocks, b""))
            if not chunk:
                return
            self._take(chunk)
            yield chunk

    def _take(self, chunk: bytes) -> None:
        self.offset += len(chunk)
        self._signature = (self._signature + chunk)[-OVERLAP:]

    def _fetch(self, call: Callable[..., T], *args: int) -> T:
        """What ``call(remote, *args)`` reads from the file; a failure lets go of it and
        raises ReadError."""
        try:
            return call(connect(self.path), *args)
        except FileNotFoundError:
            why = "deleted while being read"
        except RemoteFailure as exc:
            why = exc.reason
        self.fail(why)
        raise ReadError(f"cannot read {public(self.path)}: {why}")
