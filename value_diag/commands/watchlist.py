"""The run files a watch follows, asked again as it goes so runs that start later count too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from value_diag.commands.follower import REMOTE_POLL_S
from value_diag.commands.paths import once_each, pick
from value_diag.errors import ReadError
from value_diag.ingest.runfiles import Kind, Target, newest

if TYPE_CHECKING:
    from value_diag.ingest.remote.prefetch import Listing


def _nothing() -> None:
    return None


@dataclass
class Runs:
    """The run files a watch follows, asked again as it goes.

    Files named as such are followed from the start, whether they exist or not. A
    directory or a pattern adds the run files that appear in it; with --latest it
    switches to one that appears when that run started after the one followed
    (runfiles.newest: by esper-lite's names, else birth times, else which appeared
    later), and ``switched`` says from which.
    """

    found: list[Target]
    latest: bool = False
    files: list[str] = field(default_factory=list)
    switched: dict[str, str] = field(default_factory=dict)
    """New file -> the file it replaced (--latest), until the caller takes it."""
    wake: Callable[[], None] | None = None
    """Called from a listing thread when a remote directory holds new run files."""
    poll: float = REMOTE_POLL_S
    """Seconds between two looks at a remote file (remote directories: LIST_EVERY looks)."""
    _seen: dict[str, int] = field(default_factory=dict)
    """Each file of a directory or pattern -> the look that first saw it (0: at the start)."""
    _looks: int = 0
    """Looks for new run files so far."""
    _current: dict[int, str] = field(default_factory=dict)
    """--latest: the index of a directory or pattern -> the file followed for it."""
    _listings: dict[int, Listing] = field(default_factory=dict)
    """The index of a remote directory or pattern -> its listing thread."""

    def __post_init__(self) -> None:
        files: list[str] = []
        for i, t in enumerate(self.found):
            remote = t.grows and t.kind is Kind.URL
            error = None
            try:
                now = t.files()
            except ReadError as exc:
                if not remote:
                    raise
                now, error = [], str(exc)  # the server may answer later: listed again
            named = pick(t, now, self.latest)
            if t.grows:
                self._seen.update(dict.fromkeys(now, 0))
                if self.latest and named:
                    self._current[i] = named[0]
            if remote:
                from value_diag.ingest.remote.prefetch import LIST_EVERY, Listing

                every = self.poll * LIST_EVERY
                wake = self.wake or _nothing
                self._listings[i] = Listing(t.files, now, every, wake, error)
            files += named
        self.files = once_each(files)

    def close(self) -> None:
        """Stops listing remote directories."""
        for listing in self._listings.values():
            listing.close()

    def _files(self, i: int, t: Target) -> list[str]:
        """What a target names now: a remote one's latest listing, never waiting for it."""
        listing = self._listings.get(i)
        return t.files() if listing is None else listing.files

    def listing_error(self, i: int) -> str | None:
        """Why the last listing of the remote directory or pattern ``found[i]`` failed."""
        listing = self._listings.get(i)
        return None if listing is None else listing.error

    @property
    def grows(self) -> bool:
        """Whether any target may name more files later (worth looking again)."""
        return any(t.grows for t in self.found)

    @property
    def roots(self) -> list[str]:
        """The local directories in which new run files may appear (a remote one is
        listed again by its Listing thread instead)."""
        return sorted({t.root for t in self.found if t.grows and t.kind is not Kind.URL})

    def refresh(self) -> bool:
        """Looks for new run files; True if the files to follow changed."""
        files = list(self.files)
        self._looks += 1
        for i, t in enumerate(self.found):
            if not t.grows:
                continue
            new = [f for f in self._files(i, t) if f not in self._seen]
            self._seen.update(dict.fromkeys(new, self._looks))
            if not new:
                continue
            if not self.latest:
                files += new
                continue
            candidate = newest(new, self._seen)
            current = self._current.get(i)
            if candidate is None or (
                current is not None and newest([current, candidate], self._seen) == current
            ):
                continue
            self._current[i] = candidate
            if current is None:
                files.append(candidate)
            else:
                files[files.index(current)] = candidate
                self.switched[candidate] = current
        files = once_each(files)
        changed = files != self.files
        self.files = files
        return changed
