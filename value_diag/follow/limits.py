"""The open-file limit: raised as far as following the run files needs, and what is left."""

from __future__ import annotations

import contextlib
from typing import Final

from value_diag.errors import ReadError

FD_RESERVE: Final = 32
"""Open files value-diag needs besides one per followed file (streams, pipes, notifications)."""


def make_room(files: int) -> None:
    """Raises the soft open-file limit as far as following ``files`` files needs.

    Raises:
        ReadError: the hard limit is too low; the message says so and how many files.
    """
    try:
        import resource
    except ImportError:  # not on a POSIX system
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = files + FD_RESERVE
    unlimited = resource.RLIM_INFINITY
    if soft == unlimited or soft >= need:
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (need if hard == unlimited else min(need, hard), hard)
        )
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        raise ReadError(
            f"cannot follow {files} files: the open-file limit (ulimit -n) is {soft},"
            f" and following them needs about {need}"
        )


def followable(files: int) -> int:
    """How many of ``files`` run files can be followed: all, once make_room has raised
    the soft open-file limit for them, else as many as the limit leaves room for."""
    try:
        make_room(files)
    except ReadError:
        return max(fd_limit() - FD_RESERVE, 0)
    return files


def fd_limit() -> int:
    """The soft open-file limit (a large number where there is none, or no POSIX)."""
    try:
        import resource
    except ImportError:
        return 1 << 30
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 30 if soft == resource.RLIM_INFINITY else soft
