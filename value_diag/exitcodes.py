"""Exit codes a pipeline can act on, and the one rule that picks them."""

from __future__ import annotations

from enum import IntEnum

from value_diag.health import Status, reaches


class ExitCode(IntEnum):
    """What the process exit status means."""

    OK = 0
    """A frame was printed (and the status stayed below --fail-on)."""
    FAIL = 1
    """The status reached the --fail-on level (in at least --fail-count runs)."""
    ERROR = 2
    """Usage error, or the input could not be read."""
    NO_DATA = 3
    """The input held no usable record."""


def exit_code(status: Status, fail_on: Status | None, fired: Status | None = None) -> ExitCode:
    """No data first (nothing to judge), then the --fail-on threshold, compared with what
    the gate let through (``fired``: warm-up and persistence applied; default ``status``)."""
    if status is Status.NO_DATA:
        return ExitCode.NO_DATA
    if reaches(status if fired is None else fired, fail_on):
        return ExitCode.FAIL
    return ExitCode.OK


_SEVERITY = (ExitCode.OK, ExitCode.NO_DATA, ExitCode.FAIL, ExitCode.ERROR)
"""Several inputs: an unreadable one outweighs a failing one, which outweighs no data."""


def worst(codes: list[ExitCode], fail_count: int = 1) -> ExitCode:
    """The exit code for several inputs (OK for none).

    FAIL counts only when at least ``fail_count`` inputs failed: a sweep that tolerates
    one bad seed passes with one, and its other codes still apply.
    """
    if codes.count(ExitCode.FAIL) < fail_count:
        codes = [ExitCode.OK if code is ExitCode.FAIL else code for code in codes]
    return max(codes, key=_SEVERITY.index, default=ExitCode.OK)
