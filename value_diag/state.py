"""The state a run's lines fold into, shared by the readers and the renderers. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from value_diag.schema import (
    CRITIC_FIELDS,
    VALUE_FIELDS,
    InfrastructureMetrics,
    SanctumSnapshot,
    TamiyoState,
    ValueFunctionMetrics,
)

Values = tuple[float | None, ...]
"""The nine metrics in VALUE_FIELDS order; None for one that was not reported."""


def merge(new: Values, old: Values | None) -> Values:
    """``new``'s metrics, and ``old``'s where ``new`` reports none: a line that omits a
    metric neither zeroes it nor erases an earlier report."""
    if old is None or None not in new:
        return new
    return tuple(o if n is None else n for n, o in zip(new, old, strict=True))


def stamp(new: Values, at: int, old: tuple[int | None, ...] | None) -> tuple[int | None, ...]:
    """When each metric was last reported, after update ``at`` reported ``new``."""
    if old is None or None not in new:
        return tuple(None if n is None else at for n in new)
    return tuple(o if n is None else at for n, o in zip(new, old, strict=True))


def shift(
    at: tuple[int | None, ...], offset: int, old: tuple[int | None, ...] | None
) -> tuple[int | None, ...]:
    """A segment's report ordinals ``at`` after ``offset`` earlier updates, over ``old``'s."""
    base = old or (None,) * len(at)
    return tuple(o if a is None else a + offset for a, o in zip(at, base, strict=True))


class Update(NamedTuple):
    """One value record (a PPO update) of a run, as ``FoldState.recent`` keeps it (a named
    tuple: made for every update a fold keeps, and cheaper to define than a dataclass).

    Attributes:
        values: the nine metrics (VALUE_FIELDS order) as a frame showed them after this
            update: each the newest the run had reported by then (None: not yet), or
            None when the run had reported none.
        critic: the critic's five numbers (CRITIC_FIELDS order, None for one not
            given), or None when the update named none.
        fit: the RULE_FIELDS (None for one not given), or None when it named none.
        step: the training step the update's line named, or None.
        mean_abs_td: its ``bellman_error`` is the mean |TD error| (esper-lite's), not
            the mean squared TD error.
    """

    values: Values | None
    critic: tuple[float | None, ...] | None
    fit: tuple[float | None, ...] | None
    step: int | None
    mean_abs_td: bool


@dataclass(frozen=True, slots=True)
class FoldState:
    """Everything a frame shows, folded from the lines read so far.

    Attributes:
        values: the nine metrics (VALUE_FIELDS order), each the newest value the current
            run reported (None: never reported), or None while it has reported none.
        values_at: for each of the nine, the update of the current run (1: its first)
            that last reported it, or None; None while ``values`` is.
        compile: the compile status, or None while the file has reported none.
        records: lines that were used.
        bad_lines: examined lines that could not be used.
        last_error: "line N: reason" of the newest bad line.
        last_update: clock time (seconds) at which the newest record was folded.
        history: the newest value records of the current run, oldest first: the nine
            metrics as each record gave them (None for one it did not), then the
            explained variance when the record reported one.
        history_len: how many value records ``history`` keeps (0: none).
        critic: the critic's five numbers (CRITIC_FIELDS order, None for one not
            reported), or None while the current run has reported none.
        step: the training step named by the newest line that named one in the current
            run, or None.
        fit: the RULE_FIELDS (None for one not reported) of the newest value record, or
            None while the current run has reported none or the newest value record
            gave none (never an older update's).
        updates: value records in the current run (lines with the nine metrics, and
            esper updates that carry only the critic's numbers).
        recent: the newest ``recent_len`` value records of the current run, oldest first.
        recent_len: how many value records ``recent`` keeps (0: none).
        writer: what wrote the current run, from its run header (``value_diag_run``);
            None for a run without one.
        rules: the rules the run header asks for (``"scale-free"``), or None.
        mean_abs_td: the current values' ``bellman_error`` is the mean |TD error|
            (esper-lite's), not the mean squared TD error (value-diag's producer).
        critic_moved: the furthest the critic's weights moved between two lines of the
            current run: the largest ``critic_change`` given, 0 if none was above 0.
    """

    values: Values | None = None
    compile: Compile | None = None
    records: int = 0
    bad_lines: int = 0
    last_error: str | None = None
    last_update: float | None = None
    history: tuple[tuple[float | None, ...], ...] = ()
    history_len: int = 0
    critic: tuple[float | None, ...] | None = None
    step: int | None = None
    fit: tuple[float | None, ...] | None = None
    updates: int = 0
    recent: tuple[Update, ...] = ()
    recent_len: int = 0
    writer: str | None = None
    rules: str | None = None
    mean_abs_td: bool = False
    values_at: tuple[int | None, ...] | None = None
    critic_moved: float = 0.0

    @property
    def has_data(self) -> bool:
        """True once any line was used."""
        return self.records > 0

    def newest(self, kept: int) -> FoldState:
        """The state as a fold keeping only ``kept`` recent updates would have left it (a
        run read long for its charts, judged as `once` judges it)."""
        return replace(self, recent=self.recent[-kept:] if kept else (), recent_len=kept)

    def updates_ago(self, index: int) -> int | None:
        """How many updates ago the metric VALUE_FIELDS[index] was last reported (0: by
        the newest), or None if the current run never reported it."""
        at = None if self.values_at is None else self.values_at[index]
        return None if at is None else self.updates - at


def to_snapshot(state: FoldState) -> SanctumSnapshot | None:
    """The spec's snapshot for a state; None before any line was used.

    Parts and metrics the file has not reported keep the spec's defaults (frame.unreported
    names them, so they are shown as not reported and not judged).
    """
    if not state.has_data:
        return None
    vf = ValueFunctionMetrics()
    if state.values is not None:
        for name, value in zip(VALUE_FIELDS, state.values, strict=True):
            if value is not None:
                setattr(vf, name, value)
    infra = InfrastructureMetrics()
    if state.compile is not None:
        infra.compile_enabled = state.compile.enabled
        infra.compile_backend = state.compile.backend
        infra.compile_mode = state.compile.mode
    tamiyo = TamiyoState(value_function=vf, infrastructure=infra)
    for name, number in zip(CRITIC_FIELDS, state.critic or (), strict=False):
        if number is not None:
            setattr(tamiyo, name, number)
    return SanctumSnapshot(tamiyo=tamiyo)


@dataclass(frozen=True, slots=True)
class Compile:
    """torch.compile status; backend and mode exactly as the file gave them ('' for null)."""

    enabled: bool = False
    backend: str = ""
    mode: str = ""
