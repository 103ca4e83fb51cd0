"""Parsed lines -> the latest state of the run and honest counters. Pure: the clock is passed in."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from value_diag.lines import Line
from value_diag.records import BadLine, Compile, parse
from value_diag.schema import (
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
    """

    values: tuple[float, ...] | None = None
    compile: Compile | None = None
    records: int = 0
    bad_lines: int = 0
    last_error: str | None = None
    last_update: float | None = None

    @property
    def has_data(self) -> bool:
        """True once any line was used."""
        return self.records > 0


def fold(state: FoldState, lines: Iterable[Line], now: float) -> FoldState:
    """Applies numbered lines to a state, in order; bad lines are counted and change nothing."""
    values, compile_ = state.values, state.compile
    records, bad, last_error = state.records, state.bad_lines, state.last_error
    for number, line in lines:
        parsed = parse(line) if isinstance(line, bytes) else line
        if parsed is None:
            continue
        if isinstance(parsed, BadLine):
            bad += 1
            last_error = f"line {number}: {parsed.reason}"
            continue
        records += 1
        if parsed.new_run:
            values = None
        if parsed.values is not None:
            values = parsed.values
        if parsed.compile is not None:
            compile_ = parsed.compile
    if records == state.records and bad == state.bad_lines:
        return state
    return dataclasses.replace(
        state,
        values=values,
        compile=compile_,
        records=records,
        bad_lines=bad,
        last_error=last_error,
        last_update=now if records > state.records else state.last_update,
    )


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
    return SanctumSnapshot(tamiyo=TamiyoState(value_function=vf, infrastructure=infra))
