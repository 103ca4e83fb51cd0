"""The run files a remote URL names: a directory or prefix, a pattern, or one file; and,
when it names none, what is not there."""

from __future__ import annotations

import glob
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from value_diag.errors import ReadError
from value_diag.ingest.files import RUN_PATTERN
from value_diag.ingest.remote.backends import connect, require
from value_diag.ingest.remote.reasons import RemoteFailure
from value_diag.ingest.remote.settings import SSH
from value_diag.ingest.urls import path_part, public, rebuild, scheme

if TYPE_CHECKING:
    from value_diag.ingest.walk import Patterns

_FLAT: Final = frozenset({"http", "https"})
"""Schemes with no directories: a URL is one file, and ``?`` starts its query."""


def list_runs(url: str, pattern: Patterns | None = None) -> list[str]:
    """The run files ``url`` names, sorted; each keeps the URL's credentials and query.

    A directory or prefix (``s3://bucket/sweep/``, or an existing directory without the
    slash) gives every file below it, at any depth and outside hidden folders, whose name
    matches ``pattern`` (default RUN_PATTERN; several: any of them, as for a local
    directory), or whose path relative to it does for a pattern with a ``/``
    (``*/events.jsonl``; ``*`` matches ``/`` too). A URL whose
    path has ``*``, ``?`` or ``[`` gives the files it matches. Any other URL is one
    file, there or not yet (a watch waits for it). Only ``public()`` of the URLs may
    be shown.

    Raises:
        ReadError: the backend is missing, or the listing failed (the message names
            ``public(url)``).
    """
    path = path_part(url)
    if scheme(url) in _FLAT:
        require(url)
        return [url]
    magic = glob.has_magic(path)
    if not magic and not path.endswith("/") and not _is_directory(url):
        return [url]
    try:
        remote = connect(url)
        if magic:
            found = remote.glob()
        else:
            base = remote.path.rstrip("/") + "/"
            found = [p for p in remote.find() if _wanted(p.removeprefix(base), pattern)]
    except FileNotFoundError:
        return []
    except RemoteFailure as exc:
        raise ReadError(f"cannot list {public(url)}: {exc.reason}") from None
    return sorted(rebuild(url, path) for path in found)


def _wanted(relative: str, pattern: Patterns | None) -> bool:
    """Whether a file below the directory is a run file: never in a hidden folder; its
    path matched by a pattern with a ``/``, its name by one without (as for local ones)."""
    *folders, name = relative.split("/")
    if any(folder.startswith(".") for folder in folders):
        return False
    wanted = pattern or RUN_PATTERN
    patterns = (wanted,) if isinstance(wanted, str) else wanted
    return any(fnmatchcase(relative if "/" in p else name, p) for p in patterns)


def _is_directory(url: str) -> bool:
    """Whether a URL without a trailing slash names a directory. When the server cannot
    say (it is down, the VPN not up yet), it is taken for the file it most likely names:
    ``watch`` follows it and says why it cannot be read until it can, as for a folder
    URL; ``once`` says why when it reads it."""
    try:
        return connect(url).stat().directory
    except (FileNotFoundError, RemoteFailure):
        return False


def missing(url: str) -> str | None:
    """What is not there, said when ``url`` (a directory, prefix or pattern) names no run
    file: its bucket or container on an object store (``s3://runz/`` for a misspelt bucket),
    the directory its run files would be below on an ssh host. None when that is there, or
    when it cannot be told: one metadata call, made for the error message only.
    """
    parts = urlsplit(url)
    kind = scheme(url)
    if kind is None or kind in _FLAT:
        return None
    if kind in SSH:
        fixed = []
        for part in parts.path.split("/"):
            if glob.has_magic(part):
                break
            fixed.append(part)
        top = rebuild(url, "/".join(fixed).rstrip("/") + "/")
    else:  # an object store: the first name is the bucket (the container, on Azure)
        top = rebuild(url, "")
    try:
        connect(top).stat()
    except FileNotFoundError:
        return public(top)
    except (RemoteFailure, ReadError):
        return None
    return None
