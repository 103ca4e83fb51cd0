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
"""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
from collections.abc import Callable, Iterator
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


def _never() -> bool:
    return False


def reason(exc: OSError) -> str:
    """An OSError said as the system says it (``Permission denied``)."""
    return exc.strerror or type(exc).__name__


def below(directory: str, pattern: str, stop: Callable[[], bool] = _never) -> Found:
    """Regular files below ``directory`` whose path relative to it (or, for a pattern
    without a separator, whose name) matches ``pattern``.

    Raises:
        Interrupted: ``stop`` said to stop.
    """
    found = Found()
    by_name = os.sep not in pattern
    for here, entries in _directories(directory, found, stop):
        for entry in entries:
            key = entry.name if by_name else os.path.relpath(entry.path, directory)
            if fnmatch.fnmatchcase(key, pattern) and _regular(entry, here, found):
                found.files.append(entry.path)
    return found


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
        entries = _listed(here, found)
        if entries is None:
            continue
        files = []
        subdirs = []
        for entry in entries:
            if _enters(entry):
                subdirs.append(entry.path)
            elif not _plain_dir(entry):
                files.append(entry)
        todo += reversed(subdirs)
        yield here, files


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
