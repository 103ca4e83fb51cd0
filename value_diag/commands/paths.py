"""The paths a command is given -> the run files to read, and the names they are shown by.

A directory stands for every run file below it, a pattern for the files it matches (see
ingest/runfiles.py); with --latest, each stands for its newest run file only. `once`
reads what they name when it starts; `watch` asks again as it goes (commands/watchlist.py),
so runs that start later are followed too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from value_diag.errors import ReadError
from value_diag.ingest.files import display_name
from value_diag.ingest.runfiles import Kind, Target, newest, target
from value_diag.naming import natural_key, short_names


def targets(paths: Sequence[str], pattern: str | None = None) -> list[Target]:
    """What each argument names."""
    return [target(p, pattern) for p in paths]


def run_files(found: Sequence[Target], latest: bool = False) -> list[str]:
    """The run files the targets name now, each once, in the order given (a directory's
    or a pattern's in natural order); with ``latest``, a directory's or a pattern's
    newest only.

    Raises:
        ReadError: a directory or remote prefix holds no run file, or a pattern matches
            none (see ``none_found``).
    """
    files: list[str] = []
    for t in found:
        named = _named(t, latest)
        if not named and t.grows:
            raise ReadError(none_found(t))
        files += named
    return once_each(files)


def none_found(t: Target) -> str:
    """Why a directory, pattern, remote prefix or remote pattern stands for nothing, in one
    line: what was given (a URL without its credentials) and what was looked for; for a
    URL, also its bucket or directory when that is what is missing (a typo in its name).

    An empty run is an error wherever it comes from: a cron job given a typo must not pass.
    """
    shown = display_name(t.given)
    gone = None
    if t.kind is Kind.URL:
        from value_diag.ingest.remote import missing

        gone = missing(t.given)
    if t.matches:
        return f"no file matches {shown}" + (f" ({gone} not found)" if gone else "")
    if gone:
        return f"no run file in {shown} ({gone} not found; looked for {t.pattern})"
    return f"no run file in {shown} (looked for {t.pattern}; --pattern to choose)"


def _named(t: Target, latest: bool) -> list[str]:
    return pick(t, t.files(), latest)


def pick(t: Target, files: list[str], latest: bool) -> list[str]:
    """The files of a target to read: all, or with ``latest`` its newest."""
    if latest and t.grows:
        chosen = newest(files)
        return [] if chosen is None else [chosen]
    return files


def once_each(files: list[str]) -> list[str]:
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
