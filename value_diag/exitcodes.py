"""Exit codes a pipeline can act on, and the one rule that picks them."""

from __future__ import annotations

from enum import IntEnum

from value_diag.health import Status, reaches


class ExitCode(IntEnum):
    """What the process exit status means."""

    OK = 0
    """A frame was printed (and the status stayed below --fail-on)."""
    FAIL = 1
    """The status reached the --fail-on level."""
    ERROR = 2
    """Usage error, or the input could not be read."""
    NO_DATA = 3
    """The input held no usable record."""


def exit_code(status: Status, fail_on: Status | None) -> ExitCode:
    """No data first (nothing to judge), then the --fail-on threshold."""
    if status is Status.NO_DATA:
        return ExitCode.NO_DATA
    if reaches(status, fail_on):
        return ExitCode.FAIL
    return ExitCode.OK


_SEVERITY = (ExitCode.OK, ExitCode.NO_DATA, ExitCode.FAIL, ExitCode.ERROR)
"""Several inputs: an unreadable one outweighs a failing one, which outweighs no data."""


def worst(codes: list[ExitCode]) -> ExitCode:
    """The exit code for several inputs (OK for none)."""
    return max(codes, key=_SEVERITY.index, default=ExitCode.OK)
