"""The state a run's lines fold into, shared by the readers and the renderers. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from value_diag.schema import (
    CRITIC_FIELDS,
    VALUE_FIELDS,
    InfrastructureMetrics,
    SanctumSnapshot,
    TamiyoState,
    ValueFunctionMetrics,
)


class Update(NamedTuple):
    """One value record (a PPO update) of a run, as ``FoldState.recent`` keeps it (a named
    tuple: made for every update a fold keeps, and cheaper to define than a dataclass).

    Attributes:
        values: the nine metrics (VALUE_FIELDS order), or None for an update that gave
            only the critic's numbers (esper-lite's runs of December 2025).
        critic: the critic's five numbers (CRITIC_FIELDS order, None for one not
            given), or None when the update named none.
        fit: the FIT_FIELDS (None for one not given), or None when it named none.
        step: the training step the update's line named, or None.
        mean_abs_td: its ``bellman_error`` is the mean |TD error| (esper-lite's), not
            the mean squared TD error.
    """

    values: tuple[float, ...] | None
    critic: tuple[float | None, ...] | None
    fit: tuple[float | None, ...] | None
    step: int | None
    mean_abs_td: bool


@dataclass(frozen=True, slots=True)
class FoldState:
    """Everything a frame shows, folded from the lines read so far.

    Attributes:
        values: the nine metrics (VALUE_FIELDS order), or None while the current run
            has reported none.
        compile: the compile status, or None while the file has reported none.
        records: lines that were used.
        bad_lines: examined lines that could not be used.
        last_error: "line N: reason" of the newest bad line.
        last_update: clock time (seconds) at which the newest record was folded.
        history: the newest value records of the current run, oldest first: the nine
            metrics, then the explained variance when the record reported one.
        history_len: how many value records ``history`` keeps (0: none).
        critic: the critic's five numbers (CRITIC_FIELDS order, None for one not
            reported), or None while the current run has reported none.
        step: the training step named by the newest line that named one in the current
            run, or None.
        fit: the FIT_FIELDS (None for one not reported) of the newest value record, or
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
    """

    values: tuple[float, ...] | None = None
    compile: Compile | None = None
    records: int = 0
    bad_lines: int = 0
    last_error: str | None = None
    last_update: float | None = None
    history: tuple[tuple[float, ...], ...] = ()
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

    @property
    def has_data(self) -> bool:
        """True once any line was used."""
        return self.records > 0


def to_snapshot(state: FoldState) -> SanctumSnapshot | None:
    """The spec's snapshot for a state; None before any line was used.

    Parts the file has not reported keep the spec's defaults.
    """
    if not state.has_data:
        return None
    vf = ValueFunctionMetrics()
    if state.values is not None:
        for name, value in zip(VALUE_FIELDS, state.values, strict=True):
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
