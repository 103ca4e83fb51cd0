"""A sweep's runs as the live table knows them: step, staleness, where each sorts. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from value_diag.health import Status
from value_diag.naming import natural_key
from value_diag.render.compare import Cell, row

if TYPE_CHECKING:
    from value_diag.frame import Frame


class Sort(StrEnum):
    """The orders `s` cycles through, in that order. Ties go by natural name order."""

    WORST = "worst"
    """Critical, warning, ok, stale, waiting (BUCKETS)."""
    NAME = "name"
    """Natural order: seed2 before seed10."""
    STEP = "step"
    """Lowest step first (the runs that lag); runs that name no step last."""
    AGE = "age"
    """Longest silent first (a hung run on top); runs with no record yet last."""


class Bucket(StrEnum):
    """Where a run sorts under Sort.WORST, and what the header counts."""

    CRITICAL = "critical"
    WARNING = "warning"
    OK = "ok"
    STALE = "stale"
    WAITING = "waiting"


BUCKETS: Final = tuple(Bucket)
"""Sort.WORST's order. A stale run (critical under --max-age) comes after the healthy
ones: finished runs go stale too, and would otherwise bury the dying ones; its row says
stale in red, and its metrics keep their colours."""


@dataclass(frozen=True, slots=True)
class Run:
    """A run as the table knows it: its latest frame, and what the frame says of it."""

    frame: Frame
    _rows: dict[tuple[bool, bool], tuple[Cell, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """--compare's cells of the frame, made once for each (ascii_only, critic)."""

    def cells(self, ascii_only: bool = False, critic: bool = False) -> tuple[Cell, ...]:
        """The frame's --compare row: a cell for each of ``labels(critic)``."""
        key = (ascii_only, critic)
        cells = self._rows.get(key)
        if cells is None:
            cells = self._rows[key] = row(self.frame, ascii_only, critic)
        return cells

    @property
    def name(self) -> str:
        """How the run is shown (and told from the others)."""
        return self.frame.name

    @property
    def step(self) -> int | None:
        """The training step of its newest line that named one."""
        return self.frame.state.step

    @property
    def stale(self) -> bool:
        """Whether --max-age made it stale."""
        return self.frame.health.stale is not None

    @property
    def bucket(self) -> Bucket:
        """Waiting before any metric, stale past --max-age, else its status."""
        status = self.frame.health.status
        if status is Status.NO_DATA:
            return Bucket.WAITING
        if self.stale:
            return Bucket.STALE
        return Bucket(status.value)


def _by_name(run: Run) -> tuple[tuple[tuple[int, str], ...], str]:
    return natural_key(run.name), run.name


SORT_KEYS: Final[dict[Sort, Callable[[Run], tuple[object, ...]]]] = {
    Sort.WORST: lambda r: (BUCKETS.index(r.bucket), _by_name(r)),
    Sort.NAME: lambda r: (_by_name(r),),
    Sort.STEP: lambda r: (r.step is None, r.step or 0, _by_name(r)),
    Sort.AGE: lambda r: (
        r.frame.state.last_update is None,
        r.frame.state.last_update or 0.0,
        _by_name(r),
    ),
}


def ordered(runs: Iterable[Run], sort: Sort) -> list[Run]:
    """The runs in the order of ``sort``."""
    return sorted(runs, key=SORT_KEYS[sort])
