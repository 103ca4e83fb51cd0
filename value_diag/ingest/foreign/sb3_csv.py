"""Stable-Baselines3's ``progress.csv`` (its CSV logger) to flat lines, the lag corrected.

SB3's on-policy ``learn()`` collects a rollout, dumps the logger (one CSV row, its
``time/total_timesteps`` the steps taken so far), then runs ``train()``, which records
``train/explained_variance`` (of the rollout buffer's values against its returns: the values
as predicted while collecting, before this update) and ``train/value_loss``. Those are written
by the *next* dump: the row at step S carries the previous rollout's numbers, the first row
has none, and the last rollout's are never written.

The lag is corrected here: each row's ``train/*`` values are attributed to the rollout they
describe, the one before the row's, whose step is S minus one rollout's size. That size is
read from consecutive rows (their difference in ``time/total_timesteps`` over their difference
in ``time/iterations``, which also holds with ``log_interval`` > 1); with no earlier row it is
S / iterations (a run that started at step 0). A row whose rollout cannot be placed gives no
line. The last rollout of a run has no line: SB3 never wrote its numbers.

What a line holds: ``step``, ``explained_variance`` (CRITIC_FIELDS) and ``value_loss`` (the
mean of the update's value losses, carried for reference; the panel does not read it). SB3
logs none of the nine value-function metrics, nor the values' mean, std, min or max: the
callback ``value_diag.integrations.sb3.ValueDiagnosticsCallback`` writes them all
(README "Where the three inputs are in your trainer").
"""

from __future__ import annotations

import csv
import io
import math
from typing import Final

from value_diag.ingest.foreign import FlatLine, Source, number, step_of

STEP: Final = "time/total_timesteps"
ITERATIONS: Final = "time/iterations"
COLUMNS: Final = {
    "train/explained_variance": "explained_variance",
    "train/value_loss": "value_loss",
}
"""SB3's column -> the name of a flat line."""
SOURCE: Final = Source(
    name="Stable-Baselines3 progress.csv",
    fills=frozenset({"explained_variance"}),
    carried=frozenset({"value_loss"}),
    hook="callback=ValueDiagnosticsCallback('run.jsonl') in model.learn "
    "(value_diag.integrations.sb3)",
    timing="SB3 writes each rollout's EV a row late: it is moved back to its rollout, and the "
    "last rollout's is never written",
)


def _cell(row: dict[str, str | None], key: str) -> float | None:
    raw = row.get(key)
    if raw is None or raw.strip() == "":
        return None
    try:
        return number(float(raw))
    except ValueError:
        return None


def read_progress_csv(text: str) -> list[FlatLine]:
    """The flat lines of a ``progress.csv``, each at the step of the rollout it describes.

    Args:
        text: the file's text (a header row, then one row per dump). A last row without
            its newline is not read: a row being written is left for the next read (SB3
            ends every row it writes with one).
    """
    lines: list[FlatLine] = []
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and not text.endswith("\n"):
        rows.pop()
    prev: tuple[int, float | None] | None = None  # (step, iterations) of the row before
    size: float | None = None  # one rollout's steps, once known
    for row in rows:
        step = step_of(_cell(row, STEP))
        if step is None:
            continue
        iterations = _cell(row, ITERATIONS)
        if prev is not None and iterations is not None and prev[1] is not None:
            done = iterations - prev[1]
            if done > 0:
                size = (step - prev[0]) / done
        elif size is None and iterations is not None and iterations > 0:
            size = step / iterations
        prev = (step, iterations)
        found = {name: _cell(row, column) for column, name in COLUMNS.items()}
        metrics = {name: value for name, value in found.items() if value is not None}
        if not metrics or size is None or not math.isfinite(size):
            continue
        described = step_of(step - size)
        if described is None:
            continue
        lines.append({"step": described, **metrics})
    return lines
