"""Levels -> Rich styles: how each metric, status, age and border is coloured. Pure."""

from __future__ import annotations

from typing import Final

from value_diag.health import COMPILE, Health, Icon, Level, Mark, Status
from value_diag.registry import REGISTRY, Style, styled

CRITICAL: Final = "red bold"
WARNING: Final = "yellow"
NOT_REPORTED: Final = "dim"
EXCELLENT: Final = "green bold"
"""A correlation at or above its excellent threshold (the one with the up arrow)."""
EAGER: Final = "red bold reverse"
"""Compile off: a warning, but one that costs 3-5x in speed, so it stands out."""
OK: Final = {m.name: m.ok_style.value for m in REGISTRY if m.ok_style is not Style.PLAIN}
"""The colour of a metric within its thresholds (the registry's); the others (TD Std,
spread) stay plain."""
CRITIC_INFO: Final = styled(Style.CYAN, ok=False)
"""The critic's value statistics: informational, cyan as in esper-lite's panel."""
PERCENTILES: Final = styled(Style.SIGN, ok=False)
"""Informational, but coloured by their sign: a negative return is red."""
STATUS: Final = {Status.CRITICAL: CRITICAL, Status.WARNING: WARNING, Status.OK: "green"}


def mark_style(name: str, mark: Mark, value: float = 0.0) -> str:
    """The style of metric ``name`` marked ``mark``; ``value`` only matters for percentiles."""
    if mark.level is Level.NO_DATA:
        return NOT_REPORTED
    if mark.level is Level.CRITICAL:
        return CRITICAL
    if mark.level is Level.WARNING:
        return EAGER if name == COMPILE else WARNING
    if mark.level is Level.INFO:
        if name in CRITIC_INFO:
            return "cyan"
        return ("red" if value < 0 else "green") if name in PERCENTILES else ""
    if name == "v_return_correlation" and mark.icon is Icon.UP:
        return EXCELLENT
    return OK.get(name, "")


def style_of(h: Health, name: str) -> str:
    """The style of one metric of a frame's health (of the panel or the critic block)."""
    return mark_style(name, h.mark(name), h.values.get(name, 0.0))


def status_style(status: Status) -> str:
    """The colour of a status word and of the border around it."""
    return STATUS.get(status, "dim")
