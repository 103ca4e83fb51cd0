"""What happened to a followed file, told the same way for a local path and a URL.

``Change`` names it; ``classify`` is the one pure rule that tells, from what a tail knew
before a look (``Seen``) and whether the look found a file, whether that file was opened,
created, recreated, replaced, deleted or is missing. How a tail looks (a stat and an open,
or one metadata call) and how it notices truncation and rewrites stay its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol


class Change(StrEnum):
    """What happened to a followed path since the last look."""

    OPENED = "opened"
    """There at the first look, or readable again after a read error."""
    MISSING = "missing"
    """Not there at the first look (or gone after an error before it was ever read)."""
    CREATED = "created"
    """There now, after it was missing from the first look on."""
    DELETED = "deleted"
    RECREATED = "recreated"
    """There again after it was deleted."""
    TRUNCATED = "truncated"
    REPLACED = "replaced"
    ERROR = "error"


RESTARTS: Final = frozenset(
    {Change.OPENED, Change.CREATED, Change.RECREATED, Change.TRUNCATED, Change.REPLACED}
)
"""Changes after which the file is read again from the top with a fresh state."""


@dataclass(frozen=True, slots=True)
class Seen:
    """What a tail knew of its path just before a look.

    Attributes:
        missing: the last look found nothing there.
        opened: a file there was opened (followed) at some look before.
        failed: the last look or read failed (its reason is still noted).
        following: a file is being followed, and the look found another one in its place.
    """

    missing: bool = False
    opened: bool = False
    failed: bool = False
    following: bool = False


def classify(seen: Seen, found: bool) -> Change | None:
    """What a look means: ``found`` False, nothing at the path; True, a file there that the
    tail now follows from its first byte. None: nothing to tell (still missing).

    A failure noted before wins (the file is readable again: OPENED, and the note goes),
    then another file in place of the followed one, then one appearing where there was
    none.
    """
    if not found:
        if seen.missing:
            return None
        return Change.DELETED if seen.opened else Change.MISSING
    if seen.failed:
        return Change.OPENED
    if seen.following:
        return Change.REPLACED
    if seen.missing:
        return Change.RECREATED if seen.opened else Change.CREATED
    return Change.OPENED


class FileTail(Protocol):
    """A file followed like `tail -F`, local (ingest/tail.Tail) or remote
    (ingest/remote/tail.RemoteTail, ingest/remote/prefetch.Prefetched).

    ``sync()`` notices what happened to the file; ``read()`` then yields the bytes appended
    since the last read, in blocks. After a change in RESTARTS, ``read()`` starts from the
    first byte, unless the caller read a prefix through ``fd`` and said so with
    ``skip_to``.
    """

    path: str
    error: str | None
    """Why the last look failed, if it did."""
    mtime: float | None
    """Modification time of the file at the last look (seconds since the epoch)."""

    @property
    def fd(self) -> int | None:
        """The open file, for reading a large prefix in parts (None: there is none)."""
        ...

    @property
    def backlog(self) -> bool:
        """Whether more is there to read than the last ``read()`` gave."""
        ...

    def sync(self) -> Change | None:
        """Looks at the file; returns what changed, or None if it was only appended to."""
        ...

    def read(self) -> Iterator[bytes]:
        """The bytes appended since the last read, in blocks. Raises ReadError."""
        ...

    def size(self) -> int:
        """The size of the file followed (0 if none). Raises ReadError."""
        ...

    def skip_to(self, offset: int) -> None:
        """Marks the bytes before ``offset`` as consumed (read by someone else)."""
        ...

    def fail(self, reason: str) -> Change:
        """Lets go of the file after a failed read; the next sync looks again."""
        ...

    def close(self) -> None:
        """Lets go of the file."""
        ...
