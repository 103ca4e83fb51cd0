"""The run files a watch follows, asked again as it goes so runs that start later count
too, and runs deleted since go."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from value_diag.commands.paths import once_each, pick
from value_diag.errors import ReadError
from value_diag.follow.follower import REMOTE_POLL_S
from value_diag.ingest.runfiles import Kind, Looks, Target, newest
from value_diag.ingest.walk import Unreadable

if TYPE_CHECKING:
    from value_diag.ingest.remote.prefetch import Listing


def _nothing() -> None:
    return None


def _never() -> bool:
    return False


@dataclass
class Runs:
    """The run files a watch follows, asked again as it goes.

    Files named as such are followed from the start, whether they exist or not. A
    directory or a pattern adds the run files that appear in it, and lets go of those
    deleted from it (unless a folder of it could not be read: what is in it is then
    unknown); with --latest it switches to one that appears when that run started after
    the one followed (runfiles.newest: by esper-lite's names, else birth times, else
    which appeared later), or to the newest left when the one followed is deleted, and
    ``switched`` says from which. ``unreadable`` names the local folders that the last
    look could not read.
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
    stop: Callable[[], bool] = _never
    """Asked before each local directory is listed: True ends the look (Interrupted)."""
    clock: Callable[[], float] = time.time
    """The watch's clock: when --latest asks which run started last (runfiles.newest)."""
    dropped: set[str] = field(default_factory=set)
    """The files the last look let go of because they were deleted."""
    _seen: dict[str, int] = field(default_factory=dict)
    """Each file of a directory or pattern -> the look that first saw it (0: at the start)."""
    _looks: int = 0
    """Looks for new run files so far."""
    _trees: dict[int, Looks] = field(default_factory=dict)
    """Each local target's looker: a directory's folders listed again only where they
    changed since the last look (walk.Tree), so a look costs the same whatever the tree
    holds besides the runs."""
    _current: dict[int, str] = field(default_factory=dict)
    """--latest: the index of a directory or pattern -> the file followed for it."""
    _listings: dict[int, Listing] = field(default_factory=dict)
    """The index of a remote directory or pattern -> its listing thread."""
    _listed: dict[int, set[str]] = field(default_factory=dict)
    """The index of a local directory or pattern -> the files its last look listed."""
    _unreadable: dict[int, list[Unreadable]] = field(default_factory=dict)
    """The index of a local directory or pattern -> the folders its last look could not read."""

    def __post_init__(self) -> None:
        files: list[str] = []
        for i, t in enumerate(self.found):
            remote = t.grows and t.kind is Kind.URL
            error = None
            try:
                now = self._look(i, t) if not remote else t.files()
            except ReadError as exc:
                if not remote:
                    raise
                now, error = [], str(exc)  # the server may answer later: listed again
            named = pick(t, now, self.latest, self.clock())
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
        return self._look(i, t) if listing is None else listing.files

    def _look(self, i: int, t: Target) -> list[str]:
        """A local target's files now; its unreadable folders and listing are kept."""
        found = self._trees.setdefault(i, Looks(t)).look(self.stop)
        if t.grows:
            self._unreadable[i] = found.unreadable
            self._listed[i] = set(found.files)
        return found.files

    @property
    def unreadable(self) -> list[Unreadable]:
        """The local folders that the last look could not read, each once."""
        seen: dict[str, Unreadable] = {}
        for folders in self._unreadable.values():
            for folder in folders:
                seen.setdefault(os.path.normpath(folder.path), folder)
        return list(seen.values())

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
        """Looks for new run files, and for deleted ones; True if the files to follow changed.

        Raises:
            Interrupted: ``stop`` said to stop while a directory was walked.
        """
        files = list(self.files)
        self._looks += 1
        before = {i: self._listed.get(i, set()) for i in range(len(self.found))}
        named = [(i, self._files(i, t)) for i, t in enumerate(self.found) if t.grows]
        gone = self._gone(before)
        self.dropped = gone
        for f in gone:
            self._seen.pop(f, None)
        files = [f for f in files if f not in gone]
        for i, now in named:
            if self.latest and self._current.get(i) in gone:
                files = self._replace_gone(i, now, files)
            new = [f for f in now if f not in self._seen]
            self._seen.update(dict.fromkeys(new, self._looks))
            if not new:
                continue
            if not self.latest:
                files += new
                continue
            at = self.clock()
            candidate = newest(new, self._seen, at)
            current = self._current.get(i)
            if candidate is None or (
                current is not None and newest([current, candidate], self._seen, at) == current
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

    def _gone(self, before: dict[int, set[str]]) -> set[str]:
        """The files deleted since the last look: listed by a local directory or pattern
        then, by none now, and not named as such. A target with an unreadable folder
        lets go of nothing: its files may only be hidden."""
        gone: set[str] = set()
        for i, was in before.items():
            if i in self._listed and not self._unreadable.get(i):
                gone |= was - self._listed[i]
        if not gone:
            return gone
        still = set().union(*self._listed.values())
        pinned = {os.path.normpath(t.given) for t in self.found if t.kind is Kind.FILE}
        return {f for f in gone - still if os.path.normpath(f) not in pinned}

    def _replace_gone(self, i: int, now: list[str], files: list[str]) -> list[str]:
        """--latest: the run followed for target ``i`` was deleted: the newest left takes
        its place (``switched`` says which it replaced), or none while none is left."""
        old = self._current.pop(i)
        candidate = newest(now, self._seen, self.clock())
        if candidate is None:
            return files
        self._current[i] = candidate
        if candidate not in files:
            files.append(candidate)
        self.switched[candidate] = old
        return files
