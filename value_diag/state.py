"""The state a run's lines fold into, shared by the readers and the renderers. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

from value_diag.schema import (
    CRITIC_FIELDS,
    VALUE_FIELDS,
    InfrastructureMetrics,
    SanctumSnapshot,
    TamiyoState,
    ValueFunctionMetrics,
)


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
