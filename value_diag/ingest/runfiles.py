"""What the command line names -> the run files to read: files, directories, patterns.

A directory stands for every run file below it (RUN_PATTERN, or the pattern given), a
pattern (``runs/*/run.jsonl``, quoted so that the shell leaves it) for the files it
matches now; both are looked at again while watching, so runs that start later are
seen. ``newest`` picks the run file to follow with --latest. Pure but for the file-system
reads the names say.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from value_diag.ingest.files import STDIN
from value_diag.ingest.urls import is_url, path_part, public
from value_diag.naming import natural_key

RUN_PATTERN: Final = "*.jsonl"
"""The run files a directory stands for by default: esper-lite's ``events.jsonl``, a
TelemetryWriter's file, any JSON-lines log."""
SKIPPED_DIRS: Final = frozenset({"__pycache__", "node_modules"})
"""Directories never searched for runs (besides hidden ones: ``.git``, ``.venv``, ...)."""
ESPER_RUN: Final = re.compile(r"telemetry_(\d{4}-\d{2}-\d{2}_\d{6})(?:_(\d+))?")
"""The folder esper-lite's ``--telemetry-dir`` starts each run in: its name says when."""


class Kind(StrEnum):
    """What one argument of the command line names."""

    STDIN = "stdin"
    FILE = "file"
    """A file, or a path that names nothing yet (a run file to wait for)."""
    DIRECTORY = "directory"
    PATTERN = "pattern"
    URL = "url"
    """A remote file, directory or pattern (s3://, sftp://, ...): ingest/remote."""


@dataclass(frozen=True, slots=True)
class Target:
    """One argument as given, what it names, and the pattern run files below it match."""

    given: str
    kind: Kind
    pattern: str = RUN_PATTERN

    @property
    def grows(self) -> bool:
        """Whether run files may be added to it while it is watched."""
        if self.kind is Kind.URL:
            path = path_part(self.given)
            return path.endswith("/") or glob.has_magic(path)
        return self.kind in (Kind.DIRECTORY, Kind.PATTERN)

    @property
    def matches(self) -> bool:
        """Whether it is a pattern (local, or a URL whose path holds ``*``, ``?`` or ``[``)
        rather than a directory or prefix: nothing found is then said as nothing matched."""
        if self.kind is Kind.URL:
            return self.grows and glob.has_magic(path_part(self.given))
        return self.kind is Kind.PATTERN

    @property
    def root(self) -> str:
        """The directory to watch for new run files: the directory, or the fixed part of
        a pattern (``runs`` for ``runs/*/run.jsonl``); the parent directory of a file."""
        if self.kind is Kind.DIRECTORY:
            return self.given
        if self.kind is Kind.PATTERN:
            fixed: list[str] = []
            for part in self.given.split(os.sep):
                if glob.has_magic(part):
                    break
                fixed.append(part)
            return os.sep.join(fixed) or ("/" if self.given.startswith(os.sep) else ".")
        return os.path.dirname(self.given) or "."

    def files(self) -> list[str]:
        """The run files it names now, in natural order (a file: itself, whether or not
        it exists yet)."""
        if self.kind is Kind.DIRECTORY:
            return sorted(_below(self.given, self.pattern), key=natural_key)
        if self.kind is Kind.PATTERN:
            found = (p for p in glob.iglob(self.given, recursive=True) if _is_file(p))
            return sorted(found, key=natural_key)
        if self.kind is Kind.URL:  # over the network, time-bounded; ReadError if it fails
            from value_diag.ingest.remote import list_runs

            return sorted(list_runs(self.given, self.pattern), key=lambda u: natural_key(public(u)))
        return [self.given]


def target(given: str, pattern: str | None = None) -> Target:
    """What ``given`` names: stdin, a URL, a directory, a pattern (holding ``*``, ``?``
    or ``[`` and naming no file as written), or a file."""
    if given == STDIN:
        return Target(given, Kind.STDIN)
    if is_url(given):
        return Target(given, Kind.URL, pattern or RUN_PATTERN)
    if os.path.isdir(given):
        return Target(given, Kind.DIRECTORY, pattern or RUN_PATTERN)
    if glob.has_magic(given) and not os.path.lexists(given):
        return Target(given, Kind.PATTERN)
    return Target(given, Kind.FILE)


def _is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _below(directory: str, pattern: str) -> Iterator[str]:
    """Regular files below ``directory`` whose path relative to it (or, for a pattern
    without a separator, whose name) matches ``pattern``. Hidden and SKIPPED_DIRS
    directories are not entered, nor symlinked ones (a loop would never end)."""
    by_name = os.sep not in pattern
    for here, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS]
        for name in names:
            path = os.path.join(here, name)
            key = name if by_name else os.path.relpath(path, directory)
            if fnmatch.fnmatchcase(key, pattern) and _is_file(path):
                yield path


def newest(files: Iterable[str]) -> str | None:
    """The newest run file: of those in esper-lite run folders, the one whose folder
    name says it started last; without such folders, the one created last (written
    last, where the system keeps no creation time); None for none."""
    paths = list(files)
    if not paths:
        return None
    stamped = [(s, p) for p in paths if (s := _esper_stamp(p)) is not None]
    if stamped:
        return max(stamped)[1]
    return max(paths, key=_created)


def is_esper(path: str) -> bool:
    """Whether the file is in a run folder esper-lite named for the time it started."""
    return _esper_stamp(path) is not None


def _esper_stamp(path: str) -> tuple[str, int] | None:
    for part in reversed(path.split(os.sep)[:-1]):
        match = ESPER_RUN.fullmatch(part)
        if match:
            return match[1], int(match[2] or 0)
    return None


def _created(path: str) -> float:
    """When the file was created, where the system says; else when it was last written."""
    try:
        st = os.stat(path)
    except OSError:
        return float("-inf")
    return float(getattr(st, "st_birthtime", st.st_mtime))
