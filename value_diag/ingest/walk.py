"""Run files below a local directory or matching a local pattern: a walk that ends.

Both walks enter each directory at most once (told by its device and inode, so bind
mounts count too), never enter a symlinked directory below the one given or under
``**`` (``ln -s . loop`` would otherwise make the walk exponential), and skip hidden
and SKIPPED_DIRS directories. A ``*``, ``?`` or ``[`` part of a pattern matches
symlinked directories as the shell does: the pattern's length bounds how deep that goes.

Nothing is dropped without a word: a directory that cannot be listed (no permission,
an I/O error) is returned as ``Unreadable`` with the reason, for the caller to report.
A directory that vanished while walked is not an error: its runs are gone.

``stop`` is asked before each directory is listed, so a signal ends a long walk.

A ``Tree`` keeps what a walk below a directory listed, so that the next look lists again
only the directories whose modification time moved (an entry added, removed or renamed
in them) or that the file system named as changed: one stat per directory instead of a
listing and a sort of every entry (``watch DIR`` looks every second).
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Final

from value_diag.ingest.parallel import Interrupted
from value_diag.naming import natural_key

SKIPPED_DIRS: Final = frozenset({"__pycache__", "node_modules"})
"""Directories never searched for runs (besides hidden ones: ``.git``, ``.venv``, ...)."""
RECURSIVE: Final = "**"
"""The part of a pattern that stands for any number of directories (none included)."""
GONE: Final = (FileNotFoundError, NotADirectoryError)
"""Errors of a directory removed (or replaced by a file) while it was walked: no error."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A directory whose run files could not be listed, and why (``Permission denied``)."""

    path: str
    reason: str


@dataclass(slots=True)
class Found:
    """What a walk found: the run files (in the order walked) and the unreadable folders."""

    files: list[str] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)


SETTLED_S: Final = 2.0
"""How old a directory's modification time must be when it is listed for the listing to be
kept: an entry added within the same tick of the file system's clock as the listing would
leave the time unchanged, so a directory changed that recently is listed again."""


def _never() -> bool:
    return False


def reason(exc: OSError) -> str:
    """An OSError said as the system says it (``Permission denied``)."""
    return exc.strerror or type(exc).__name__


Patterns = str | tuple[str, ...]
"""The run files a walk finds: one pattern, or several (a file matching any of them)."""


def below(directory: str, pattern: Patterns, stop: Callable[[], bool] = _never) -> Found:
    """Regular files below ``directory`` whose path relative to it (or, for a pattern
    without a separator, whose name) matches ``pattern`` (any of them, for several).

    Raises:
        Interrupted: ``stop`` said to stop.
    """
    found = Found()
    for here, entries in _directories(directory, found, stop):
        found.files += _matches(directory, pattern, here, entries, found)
    return found


def _matches(
    top: str, pattern: Patterns, here: str, entries: list[os.DirEntry[str]], found: Found
) -> list[str]:
    """The regular files among a directory's entries that ``pattern`` matches (see
    ``below``); a symlink that cannot be followed is noted in ``found``."""
    patterns = (pattern,) if isinstance(pattern, str) else pattern
    files = []
    for entry in entries:
        if _matched(top, patterns, entry) and _regular(entry, here, found):
            files.append(entry.path)
    return files


def _matched(top: str, patterns: tuple[str, ...], entry: os.DirEntry[str]) -> bool:
    """Whether an entry's name (or, for a pattern with a separator, its path below
    ``top``) matches one of the patterns."""
    for pattern in patterns:
        key = entry.name if os.sep not in pattern else os.path.relpath(entry.path, top)
        if fnmatch.fnmatchcase(key, pattern):
            return True
    return False


@dataclass(frozen=True, slots=True)
class _Listed:
    """What a Tree keeps of one directory's listing."""

    stamp: tuple[int, int, int]
    """Its device, inode and modification time (ns) when listed."""
    files: list[str]
    """The run files in it, in the order listed."""
    subdirs: list[str]
    """The directories to go on in, in the order listed."""
    unreadable: list[Unreadable]
    """What could not be told while it was listed (symlinks that cannot be followed)."""


class Tree:
    """The run files below ``top`` that ``pattern`` matches (as ``below`` finds them),
    kept between looks.

    Each look stats every directory it enters (one call each) and lists again only those
    whose device, inode or modification time changed since they were listed, that were
    changed too recently to trust the time (SETTLED_S), or that ``changed`` names (paths
    the file system reported: a directory named, or the one holding a file named). The
    rest is taken from the last look, in the same order, so a look finds what ``below``
    would.
    """

    def __init__(self, top: str, pattern: Patterns, clock: Callable[[], float] = time.time) -> None:
        self.top = top
        self.pattern = pattern
        self._clock = clock
        self._listed: dict[str, _Listed] = {}
        self.listings = 0
        """Directories listed so far (what a look costs beyond its stats)."""

    def look(self, stop: Callable[[], bool] = _never, changed: Collection[str] = ()) -> Found:
        """The run files below ``top`` now, and the folders that could not be read.

        Raises:
            Interrupted: ``stop`` said to stop (asked before each directory).
        """
        stale = {os.path.abspath(p) for p in changed}
        stale |= {os.path.dirname(p) for p in stale}
        found = Found()
        kept: dict[str, _Listed] = {}
        todo = [self.top]
        for here, st in _visits(todo, found, stop):
            stamp = (st.st_dev, st.st_ino, st.st_mtime_ns)
            listed = self._listed.get(here)
            if (
                listed is None
                or listed.stamp != stamp
                or (stale and os.path.abspath(here) in stale)
            ):
                listed = self._list(here, stamp, found)
                if listed is None:
                    continue
            found.files += listed.files
            found.unreadable += listed.unreadable
            if self._settled(st.st_mtime_ns) and not listed.unreadable:
                kept[here] = listed  # (what could not be told is asked again next time)
            todo += reversed(listed.subdirs)
        self._listed = kept
        return found

    def _list(self, here: str, stamp: tuple[int, int, int], found: Found) -> _Listed | None:
        """Lists a directory as ``below`` does; None if it cannot be (then noted in
        ``found``) or is gone."""
        self.listings += 1
        entries = _listed(here, found)
        if entries is None:
            return None
        noted = Found()
        files, subdirs = _split(entries)
        matched = _matches(self.top, self.pattern, here, files, noted)
        return _Listed(stamp, matched, subdirs, noted.unreadable)

    def _settled(self, mtime_ns: int) -> bool:
        """Whether a listing of a directory last changed at ``mtime_ns`` can be kept."""
        return mtime_ns / 1e9 <= self._clock() - SETTLED_S


def matching(given: str, stop: Callable[[], bool] = _never) -> Found:
    """Regular files that the pattern ``given`` matches, named as ``glob`` names them.

    ``**`` as a whole part stands for any number of directories below (none included),
    not hidden ones, nor SKIPPED_DIRS, nor symlinked ones; a last ``**`` for any file
    there. A hidden name is matched only by a part that starts with a dot.

    Raises:
        Interrupted: ``stop`` said to stop.
    """
    found = Found()
    prefix, parts = split_fixed(given)
    if not parts:
        return found
    if parts[-1] == RECURSIVE:
        parts = [*parts, "*"]
    todo: list[tuple[str, int]] = [(prefix, 0)]
    entered: set[tuple[int, int, int]] = set()
    while todo:
        where, i = todo.pop()
        if stop():
            raise Interrupted
        here = where or os.curdir
        try:
            st = os.stat(here)
        except GONE:
            continue
        except OSError as exc:
            found.unreadable.append(Unreadable(here, reason(exc)))
            continue
        if not stat.S_ISDIR(st.st_mode) or (st.st_dev, st.st_ino, i) in entered:
            continue
        entered.add((st.st_dev, st.st_ino, i))
        todo += reversed(_step(where, parts, i, found))
    return found


def _step(where: str, parts: list[str], i: int, found: Found) -> list[tuple[str, int]]:
    """Matches part ``i`` of a pattern in the directory ``where``: adds the files it
    names to ``found``; returns the directories to go on in (with the part to match)."""
    part, last = parts[i], i == len(parts) - 1
    here = where or os.curdir
    if part != RECURSIVE and not glob.has_magic(part):  # a literal name: no listing
        path = _join(where, part)
        if not last:
            return [(path, i + 1)]
        if _is_regular(path, here, found):
            found.files.append(path)
        return []
    entries = _listed(here, found)
    if entries is None:
        return []
    if part == RECURSIVE:
        deeper = [(_join(where, e.name), i) for e in entries if _enters(e)]
        return [(where, i + 1), *deeper]
    nexts = []
    for entry in entries:
        if entry.name.startswith(".") and not part.startswith("."):
            continue
        if not fnmatch.fnmatch(entry.name, part):
            continue
        path = _join(where, entry.name)
        if last:
            if _regular(entry, here, found):
                found.files.append(path)
        elif _is_dir(entry, here, found):
            nexts.append((path, i + 1))
    return nexts


def split_fixed(given: str) -> tuple[str, list[str]]:
    """A pattern's fixed start (``runs`` of ``runs/*/run.jsonl``; ``""`` for none, the
    root for an absolute one) and the parts after it, from the first that holds magic."""
    parts = given.split(os.sep)
    fixed = 0
    while fixed < len(parts) and not glob.has_magic(parts[fixed]):
        fixed += 1
    prefix = os.sep.join(parts[:fixed])
    if not prefix and given.startswith(os.sep):
        prefix = os.sep
    return prefix, parts[fixed:]


def _join(where: str, name: str) -> str:
    return os.path.join(where, name) if where else name


def _directories(
    top: str, found: Found, stop: Callable[[], bool]
) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """Each directory below ``top`` (itself included) once, with its entries that are not
    directories, in natural order; subdirectories entered as ``_enters`` says."""
    todo = [top]
    for here, _ in _visits(todo, found, stop):
        entries = _listed(here, found)
        if entries is None:
            continue
        files, subdirs = _split(entries)
        todo += reversed(subdirs)
        yield here, files


def _visits(
    todo: list[str], found: Found, stop: Callable[[], bool]
) -> Iterator[tuple[str, os.stat_result]]:
    """Each directory of ``todo`` once (a folder reached again through a link is not
    entered twice), taken from its end, with its stat: the caller adds the directories
    to enter next to ``todo`` as it goes. One that cannot be looked at is noted in
    ``found``; one gone meanwhile is passed over.

    Raises:
        Interrupted: ``stop`` said to stop (asked before each directory).
    """
    entered: set[tuple[int, int]] = set()
    while todo:
        here = todo.pop()
        if stop():
            raise Interrupted
        try:
            st = os.stat(here)
        except GONE:
            continue
        except OSError as exc:
            found.unreadable.append(Unreadable(here, reason(exc)))
            continue
        if (st.st_dev, st.st_ino) in entered:
            continue
        entered.add((st.st_dev, st.st_ino))
        yield here, st


def _split(entries: list[os.DirEntry[str]]) -> tuple[list[os.DirEntry[str]], list[str]]:
    """A directory's entries that are not directories, and the directories a walk enters."""
    files = []
    subdirs = []
    for entry in entries:
        if _enters(entry):
            subdirs.append(entry.path)
        elif not _plain_dir(entry):
            files.append(entry)
    return files, subdirs


def _listed(here: str, found: Found) -> list[os.DirEntry[str]] | None:
    """The entries of a directory in natural order of their names; None, with the
    directory added to ``found.unreadable``, if it cannot be listed."""
    try:
        with os.scandir(here) as it:
            entries = list(it)
    except GONE:
        return None
    except OSError as exc:
        found.unreadable.append(Unreadable(here, reason(exc)))
        return None
    return sorted(entries, key=lambda e: natural_key(e.name))


def _enters(entry: os.DirEntry[str]) -> bool:
    """Whether a walk goes into the entry: a directory, not symlinked, hidden or skipped."""
    name = entry.name
    return not name.startswith(".") and name not in SKIPPED_DIRS and _plain_dir(entry)


def _plain_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str], here: str, found: Found) -> bool:
    """Whether the entry is a directory or a symlink to one (see ``_regular``)."""
    try:
        return entry.is_dir()
    except PermissionError as exc:
        found.unreadable.append(Unreadable(here, reason(exc)))
        return False
    except OSError:
        return False


def _regular(entry: os.DirEntry[str], here: str, found: Found) -> bool:
    """Whether the entry is a regular file (or a symlink to one). A symlink that cannot
    be followed for want of permission makes its directory's listing incomplete."""
    try:
        return entry.is_file()
    except PermissionError as exc:
        found.unreadable.append(Unreadable(here, reason(exc)))
        return False
    except OSError:
        return False


def _is_regular(path: str, here: str, found: Found) -> bool:
    """``_regular`` for a path not listed (a literal part of a pattern)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except PermissionError as exc:
        found.unreadable.append(Unreadable(here, reason(exc)))
        return False
    except OSError:
        return False
