"""The paths a command is given -> the run files to read, and the names they are shown by.

A directory stands for every run file below it, a pattern for the files it matches (see
ingest/runfiles.py); with --latest, each stands for its newest run file only. `once`
reads what they name when it starts; `watch` asks again as it goes (``Runs.refresh``),
so runs that start later are followed too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from value_diag.errors import ReadError
from value_diag.ingest.runfiles import Kind, Target, is_esper, newest, target
from value_diag.naming import natural_key, short_names


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
    files = t.files()
    if latest and t.grows:
        chosen = newest(files)
        return [] if chosen is None else [chosen]
    return files


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
    return sorted(
        zip(files, short_names(list(files)), strict=True), key=lambda p: natural_key(p[1])
    )


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
    _seen: set[str] = field(default_factory=set)
    _current: dict[int, str] = field(default_factory=dict)
    """--latest: the index of a directory or pattern -> the file followed for it."""

    def __post_init__(self) -> None:
        files: list[str] = []
        for i, t in enumerate(self.found):
            named = _named(t, self.latest)
            if t.grows:
                self._seen.update(t.files())
                if self.latest and named:
                    self._current[i] = named[0]
            files += named
        self.files = _once_each(files)

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
            new = [f for f in t.files() if f not in self._seen]
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
