"""The paths a command is given, checked before anything is read or drawn.

A directory, or a shell pattern that matched nothing (the shell then passes it on as
written), is not a run file that may appear later: `once` and `watch` both stop at once
with the same one-line error instead of waiting for it or retrying it.
"""

from __future__ import annotations

import glob
import os
from typing import Final

from value_diag.errors import ReadError
from value_diag.ingest.files import STDIN

_LOOK: Final = 200
"""Most directory entries looked at for an example of what to give instead (a directory
of many runs on a network file system must not make the error slow)."""


def check_paths(paths: list[str]) -> None:
    """Refuses the first path that is a directory or an unmatched pattern.

    A path whose file does not exist yet is fine (`watch` waits for it). A path holding
    ``*``, ``?`` or ``[`` and naming nothing is taken for a pattern, even quoted.

    Raises:
        ReadError: one line naming the path and what to give instead.
    """
    for path in paths:
        if path == STDIN:
            continue
        if os.path.isdir(path):
            raise ReadError(
                f"cannot read {path}: a directory (give the run files, e.g. {_example(path)})"
            )
        if glob.has_magic(path) and not os.path.lexists(path):
            if next(glob.iglob(path), None) is None:
                raise ReadError(f"no file matches {path}")
            raise ReadError(
                f"cannot read {path}: a pattern (leave it unquoted for the shell to expand)"
            )


def _example(directory: str) -> str:
    """A pattern for the run files in ``directory``, from what it holds (a guess if empty)."""
    base = directory if directory.endswith(os.sep) else directory + os.sep
    try:
        with os.scandir(directory) as entries:
            subdirs: list[str] = []
            for i, entry in enumerate(entries):
                if i >= _LOOK:
                    break
                if entry.name.endswith(".jsonl") and entry.is_file():
                    return f"{base}*.jsonl"
                if entry.is_dir() and len(subdirs) < _LOOK // 10:
                    subdirs.append(entry.path)
        for sub in sorted(subdirs):
            with os.scandir(sub) as inner:
                for i, entry in enumerate(inner):
                    if i >= _LOOK:
                        break
                    if entry.name.endswith(".jsonl") and entry.is_file():
                        return f"{base}*{os.sep}{entry.name}"
    except OSError:
        pass
    return f"{base}*{os.sep}run.jsonl"
