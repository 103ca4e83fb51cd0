"""The paths a command is given -> the run files to read, and the names they are shown by.

A directory stands for every run file below it, a pattern for the files it matches (see
ingest/runfiles.py); with --latest, each stands for its newest run file only. `once`
reads what they name when it starts; `watch` asks again as it goes (``Runs.refresh``),
so runs that start later are followed too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from value_diag.errors import ReadError
from value_diag.ingest.files import display_name
from value_diag.ingest.runfiles import Kind, Target, is_esper, newest, target
from value_diag.naming import natural_key, short_names

if TYPE_CHECKING:
    from value_diag.ingest.remote.prefetch import Listing


def targets(paths: Sequence[str], pattern: str | None = None) -> list[Target]:
    """What each argument names."""
    return [target(p, pattern) for p in paths]


def run_files(found: Sequence[Target], latest: bool = False) -> list[str]:
    """The run files the targets name now, each once, in the order given (a directory's
    or a pattern's in natural order); with ``latest``, a directory's or a pattern's
    newest only.

    Raises:
        ReadError: a directory holds no run file, or a pattern matches none.
    """
    files: list[str] = []
    for t in found:
        named = _named(t, latest)
        if not named and t.kind is Kind.PATTERN:
            raise ReadError(f"no file matches {t.given}")
        if not named and t.kind is Kind.DIRECTORY:
            raise ReadError(
                f"no run file in {t.given} (looked for {t.pattern}; --pattern to choose)"
            )
        files += named
    return _once_each(files)


def _named(t: Target, latest: bool) -> list[str]:
    return _pick(t, t.files(), latest)


def _pick(t: Target, files: list[str], latest: bool) -> list[str]:
    """The files of a target to read: all, or with ``latest`` its newest."""
    if latest and t.grows:
        chosen = newest(files)
        return [] if chosen is None else [chosen]
    return files


def _nothing() -> None:
    return None


def _once_each(files: list[str]) -> list[str]:
    """The files without a second mention of the same path."""
    seen: set[str] = set()
    kept = []
    for f in files:
        key = os.path.normpath(f)
        if key not in seen:
            seen.add(key)
            kept.append(f)
    return kept


def named_in_order(files: Sequence[str]) -> list[tuple[str, str]]:
    """Each file with the name it is shown by, in natural order of those names."""
    shown = short_names([display_name(f) for f in files])  # a URL without its credentials
    return sorted(zip(files, shown, strict=True), key=lambda p: natural_key(p[1]))


@dataclass
class Runs:
    """The run files a watch follows, asked again as it goes.

    Files named as such are followed from the start, whether they exist or not. A
    directory or a pattern adds the run files that appear in it; with --latest it
    switches to a newer one when one appears (a file that appears is newer than those
    there before it, unless esper-lite's folder names say otherwise), and ``switched``
    says from which.
    """

    found: list[Target]
    latest: bool = False
    files: list[str] = field(default_factory=list)
    switched: dict[str, str] = field(default_factory=dict)
    """New file -> the file it replaced (--latest), until the caller takes it."""
    wake: Callable[[], None] | None = None
    """Called from a listing thread when a remote directory holds new run files."""
    poll: float = 2.0
    """Seconds between two looks at a remote file (remote directories: LIST_EVERY looks)."""
    _seen: set[str] = field(default_factory=set)
    _current: dict[int, str] = field(default_factory=dict)
    """--latest: the index of a directory or pattern -> the file followed for it."""
    _listings: dict[int, Listing] = field(default_factory=dict)
    """The index of a remote directory or pattern -> its listing thread."""

    def __post_init__(self) -> None:
        files: list[str] = []
        for i, t in enumerate(self.found):
            now = t.files()
            named = _pick(t, now, self.latest)
            if t.grows:
                self._seen.update(now)
                if self.latest and named:
                    self._current[i] = named[0]
                if t.kind is Kind.URL:
                    from value_diag.ingest.remote.prefetch import LIST_EVERY, Listing

                    every = self.poll * LIST_EVERY
                    self._listings[i] = Listing(t.files, now, every, self.wake or _nothing)
            files += named
        self.files = _once_each(files)

    def close(self) -> None:
        """Stops listing remote directories."""
        for listing in self._listings.values():
            listing.close()

    def _files(self, i: int, t: Target) -> list[str]:
        """What a target names now: a remote one's latest listing, never waiting for it."""
        listing = self._listings.get(i)
        return t.files() if listing is None else listing.files

    @property
    def grows(self) -> bool:
        """Whether any target may name more files later (worth looking again)."""
        return any(t.grows for t in self.found)

    @property
    def roots(self) -> list[str]:
        """The directories in which new run files may appear."""
        return sorted({t.root for t in self.found if t.grows})

    def refresh(self) -> bool:
        """Looks for new run files; True if the files to follow changed."""
        files = list(self.files)
        for i, t in enumerate(self.found):
            if not t.grows:
                continue
            new = [f for f in self._files(i, t) if f not in self._seen]
            self._seen.update(new)
            if not new:
                continue
            if not self.latest:
                files += new
                continue
            candidate = newest(new)
            current = self._current.get(i)
            if candidate is None or (
                current is not None
                and newest([current, candidate]) == current
                and is_esper(current)
            ):
                continue
            self._current[i] = candidate
            if current is None:
                files.append(candidate)
            else:
                files[files.index(current)] = candidate
                self.switched[candidate] = current
        files = _once_each(files)
        changed = files != self.files
        self.files = files
        return changed
