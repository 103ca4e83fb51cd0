"""One source's state at one moment, as the commands hand it to the renderers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from value_diag import health
from value_diag.health import DEFAULT_THRESHOLDS, Health, Thresholds
from value_diag.state import FoldState, to_snapshot

if TYPE_CHECKING:
    pass


@dataclass(frozen=True, slots=True)
class Frame:
    """One source's state at one moment, with what happened to the file, if anything."""

    source: str
    state: FoldState
    note: str | None = None


def unreported(state: FoldState) -> frozenset[str]:
    """The parts of the snapshot the file has not reported (so they are not judged)."""
    parts = set()
    if state.values is None:
        parts.add(health.VALUE_PART)
    if state.compile is None:
        parts.add(health.INFRA_PART)
    return frozenset(parts)


def assess(state: FoldState, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Health:
    """The health of a folded state."""
    return health.assess(to_snapshot(state), unreported(state), thresholds)
