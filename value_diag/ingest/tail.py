"""Follows one path like `tail -F`: appends, truncation, replacement, deletion."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import Final

from value_diag.ingest.changes import RESTARTS, Change, Seen, classify
from value_diag.ingest.files import BLOCK, NotRegularFile, describe, open_regular, reason

__all__ = ["RESTARTS", "Change", "Tail"]
"""Change and RESTARTS live in ingest/changes.py; the followers import them from here too."""

_SIGNATURE: Final = 64
"""Bytes before the read offset that must still be there, or the file was rewritten."""


class Tail:
    """Follows one path like `tail -F`: appends, truncation, replacement, deletion
    (an ingest.changes.FileTail).

    ``sync()`` notices what happened to the path; ``read()`` then yields the bytes
    appended since the last read, in blocks, up to the current end of the file.
    """

    def __init__(self, path: str, block: int = BLOCK) -> None:
        self.path = path
        self.block = block
        self.offset = 0
        """Bytes of the current file consumed so far."""
        self.error: str | None = None
        """Why the last look failed, if it did."""
        self.mtime: float | None = None
        """Modification time of the file at the last look (seconds since the epoch)."""
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None
        self._signature = b""
        self._missing = False
        """The last look found nothing at the path."""
        self._opened_once = False
        """A file at the path has been opened (so one appearing now is a new one)."""

    def close(self) -> None:
        """Lets go of the open file, if any."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def sync(self) -> Change | None:
        """Looks at the path; returns what changed, or None if it was only appended to."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            gone = classify(Seen(missing=self._missing, opened=self._opened_once), found=False)
            if gone is not None:
                self._missing = True
                # Whatever failed before is no longer true: there is nothing left to read.
                self.close()
                self.error = None
            return gone
        except OSError as exc:
            return self._fail(exc)
        appeared = self._missing
        self._missing = False
        self.mtime = st.st_mtime
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            # A FIFO, device or socket is not even opened: it is no log (open_regular says why
            # for a directory).
            self.close()
            return self._fail(NotRegularFile())
        if self._fd is not None and (st.st_dev, st.st_ino) == self._ident:
            try:
                if os.fstat(self._fd).st_size < self.offset or not self._signature_holds():
                    self._rewind()
                    return Change.TRUNCATED
            except OSError as exc:
                return self._fail(exc)
            self.error = None
            return None
        recovered = self.error is not None
        replaced = self._fd is not None
        self.close()
        try:
            fd, fst = open_regular(self.path)
        except OSError as exc:
            return self._fail(exc)
        self._fd = fd
        self._ident = (fst.st_dev, fst.st_ino)
        self._rewind()
        self.error = None
        seen = Seen(
            missing=appeared, opened=self._opened_once, failed=recovered, following=replaced
        )
        self._opened_once = True
        return classify(seen, found=True)

    @property
    def backlog(self) -> bool:
        """False: ``read()`` gives what there is up to the end of the file (a remote
        file's reader may hold more back: ingest/remote/prefetch.py)."""
        return False

    @property
    def fd(self) -> int | None:
        """The open file, if any (for reading a large prefix in parts)."""
        return self._fd

    def size(self) -> int:
        """Current size of the open file (0 if none). Raises ReadError."""
        if self._fd is None:
            return 0
        try:
            return os.fstat(self._fd).st_size
        except OSError as exc:
            self._fail(exc)
            raise describe(self.path, exc) from None

    def skip_to(self, offset: int) -> None:
        """Marks the bytes before ``offset`` as consumed (read by someone else)."""
        if self._fd is None:
            return
        self.offset = offset
        start = max(0, offset - _SIGNATURE)
        self._signature = os.pread(self._fd, offset - start, start)

    def read(self) -> Iterator[bytes]:
        """The bytes appended since the last read, in blocks. Raises ReadError."""
        fd = self._fd
        if fd is None:
            return
        while True:
            try:
                chunk = os.pread(fd, self.block, self.offset)
            except OSError as exc:
                self._fail(exc)
                raise describe(self.path, exc) from None
            if not chunk:
                return
            self.offset += len(chunk)
            keep = _SIGNATURE - len(chunk)
            self._signature = self._signature[-keep:] + chunk if keep > 0 else chunk[-_SIGNATURE:]
            yield chunk

    def _rewind(self) -> None:
        self.offset = 0
        self._signature = b""

    def _signature_holds(self) -> bool:
        """False if the bytes just before the offset changed: the file was rewritten."""
        if not self._signature or self._fd is None:
            return True
        start = self.offset - len(self._signature)
        return os.pread(self._fd, len(self._signature), start) == self._signature

    def fail(self, reason: str) -> Change:
        """Lets go of the file after a failed read; the next sync opens it again."""
        self.close()
        self.error = reason
        return Change.ERROR

    def _fail(self, exc: OSError) -> Change:
        return self.fail(reason(exc))
