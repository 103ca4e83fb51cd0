"""The paths a command is given -> the run files to read, and the names they are shown by.

A directory stands for every run file below it, a pattern for the files it matches (see
ingest/runfiles.py); with --latest, each stands for its newest run file only. `once`
reads what they name when it starts; `watch` asks again as it goes (commands/watchlist.py),
so runs that start later are followed too. A folder below that cannot be read is never
left out in silence: it comes back as ``Unreadable``, and the command names it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

from value_diag.errors import ReadError
from value_diag.ingest.files import display_name
from value_diag.ingest.runfiles import Kind, Target, newest, run_label, target
from value_diag.ingest.walk import Found, Unreadable
from value_diag.naming import collide, natural_key, short_names, visible


def targets(paths: Sequence[str], pattern: str | None = None) -> list[Target]:
    """What each argument names."""
    return [target(p, pattern) for p in paths]


def run_files(found: Sequence[Target], latest: bool = False, now: float | None = None) -> Found:
    """The run files the targets name now, each once, in the order given (a directory's
    or a pattern's in natural order); with ``latest``, a directory's or a pattern's
    newest only (runfiles.newest, asked at ``now``). And the folders below them that
    could not be read: what they hold is unknown, so the caller reports each
    (``cannot_read``) and fails.

    Raises:
        ReadError: a directory or remote prefix holds no run file, or a pattern matches
            none (see ``none_found``), and no folder of it was unreadable.
    """
    files: list[str] = []
    unreadable: list[Unreadable] = []
    for t in found:
        look = t.look()
        named = pick(t, look.files, latest, now)
        if not named and t.grows and not look.unreadable:
            raise ReadError(none_found(t))
        files += named
        unreadable += look.unreadable
    return Found(once_each(files), _once_each_folder(unreadable))


def cannot_read(folder: Unreadable) -> str:
    """The error line of a folder that could not be read (its name as ``visible`` shows it)."""
    return f"cannot read folder {visible(folder.path)}: {folder.reason}"


def _once_each_folder(folders: list[Unreadable]) -> list[Unreadable]:
    seen: set[str] = set()
    kept = []
    for f in folders:
        key = os.path.normpath(f.path)
        if key not in seen:
            seen.add(key)
            kept.append(f)
    return kept


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
        return f"no run file in {shown} ({gone} not found; looked for {t.looked_for})"
    return f"no run file in {shown} (looked for {t.looked_for}; --pattern to choose)"


def pick(t: Target, files: list[str], latest: bool, now: float | None = None) -> list[str]:
    """The files of a target to read: all, or with ``latest`` its newest (asked at ``now``)."""
    if latest and t.grows:
        chosen = newest(files, now=now)
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
    """Each file with the name it is shown by, in natural order of those names.

    The names are the shortest that tell the runs apart as they are seen: bytes that are
    no UTF-8 and characters that print nothing are written as escapes (naming.visible);
    if names still look alike once render/sanitize has cleaned them (an invisible mark
    that the panel drops), or would name their runs alike (naming.collide), every
    character but printable ASCII is escaped. A trainer's own file is named by its folder
    (runfiles.run_label: ``PPO_1`` for ``runs/PPO_1/progress.csv``), unless another run
    file shown is in the same folder.
    """
    given = _labelled([display_name(f) for f in files])  # a URL without its credentials
    shown = short_names([visible(n) for n in given])
    if _look_alike(shown) or collide(shown):
        shown = short_names([visible(n, strict=True) for n in given])
    return sorted(zip(files, shown, strict=True), key=lambda p: natural_key(p[1]))


def _labelled(paths: list[str]) -> list[str]:
    """Each path's run_label, or the path itself where two would share a label."""
    labels = [run_label(p) for p in paths]
    taken = Counter(labels)
    return [p if taken[label] > 1 else label for p, label in zip(paths, labels, strict=True)]


def shown_names(paths: Sequence[str]) -> list[str]:
    """The names of ``named_in_order``, in the order of ``paths``."""
    by_path = dict(named_in_order(paths))
    return [by_path[p] for p in paths]


def _look_alike(names: list[str]) -> bool:
    from value_diag.render.sanitize import clean_name

    return len({clean_name(n) for n in names}) < len(set(names))
