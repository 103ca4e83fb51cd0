"""A sweep's runs as the live table knows them: step, staleness, where each sorts. Pure."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from value_diag.naming import natural_key
from value_diag.render.compare import Cell, row, worry

if TYPE_CHECKING:
    from value_diag.frame import Frame


class Sort(StrEnum):
    """The orders `s` cycles through, in that order. Ties go by natural name order."""

    WORST = "worst"
    """Critical, stale, warning, waiting, ok (BUCKETS: compare.WORRY's order)."""
    NAME = "name"
    """Natural order: seed2 before seed10."""
    STEP = "step"
    """Lowest step first (the runs that lag); runs that name no step last."""
    AGE = "age"
    """Longest silent first (a hung run on top); runs with no record yet last."""


SORT_WORDS: Final = {
    Sort.WORST: "worst first",
    Sort.NAME: "name, A to Z",
    Sort.STEP: "step, lowest first",
    Sort.AGE: "age, longest silent first",
}
"""What the footer says of each order: the key and its direction."""


class Bucket(StrEnum):
    """Where a run sorts under Sort.WORST, and what the header counts."""

    CRITICAL = "critical"
    STALE = "stale"
    WARNING = "warning"
    WAITING = "waiting"
    OK = "ok"


BUCKETS: Final = tuple(Bucket)
"""Sort.WORST's order, the order of worry of every table (compare.WORRY): a stale run
(critical under --max-age: hung, crashed or finished) comes right after the dying ones,
never below the healthy ones where it would scroll out of sight; its row says stale in
red, and its metrics keep their colours."""


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
        said = worry(self.frame)
        return Bucket.WAITING if said == "no data" else Bucket(said)


def _by_name(run: Run) -> tuple[tuple[tuple[int, str], ...], str]:
    return natural_key(run.name), run.name


def _silence(run: Run, now: float | None) -> tuple[bool, float]:
    """Longest silent first, in whole seconds (as the age column shows it): runs whose
    ages read the same go by name, so the order does not reshuffle as they write."""
    last = run.frame.state.last_update
    if last is None:
        return (True, 0.0)
    return (False, -math.floor(now - last) if now is not None else math.floor(last))


SORT_KEYS: Final[dict[Sort, Callable[[Run, float | None], tuple[object, ...]]]] = {
    Sort.WORST: lambda r, _now: (BUCKETS.index(r.bucket), _by_name(r)),
    Sort.NAME: lambda r, _now: (_by_name(r),),
    Sort.STEP: lambda r, _now: (r.step is None, r.step or 0, _by_name(r)),
    Sort.AGE: lambda r, now: (*_silence(r, now), _by_name(r)),
}


def ordered(runs: Iterable[Run], sort: Sort, now: float | None = None) -> list[Run]:
    """The runs in the order of ``sort``, ages counted to ``now`` (None: by the time of
    their last record)."""
    return sorted(runs, key=lambda r: SORT_KEYS[sort](r, now))
