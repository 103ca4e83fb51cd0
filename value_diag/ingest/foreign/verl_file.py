"""verl's JSON-lines file logger to flat lines.

verl's ``Tracking`` with the ``file`` backend (``verl/utils/tracking.py`` ``FileLogger``)
appends ``{"step": step, "data": {...}}`` per training step, written by orjson: a NaN is
written as ``null``. With a critic, ``compute_data_metrics`` (``verl/trainer/ppo/
metric_utils.py``) logs, over the response tokens of the step's batch:

    critic/vf_explained_var   -> explained_variance (1 - Var(returns - values) /
                                 (Var(returns) + 1e-5): verl's own, with its epsilon)
    critic/values/mean|max|min -> value_mean, value_max, value_min
    critic/returns/mean       -> return_mean (FIT_FIELDS: the value targets' mean)
    critic/returns/max|min    -> return_max, return_min (carried; the panel does not read them)

A ``null`` (verl's NaN, as when no token was valid) is absent. verl logs no standard deviation
of the values (``value_std`` stays absent) and none of the nine value-function metrics:
``value_diag.integrations.verl`` computes them after ``compute_advantage`` in
``RayPPOTrainer.fit()`` (README "Where the three inputs are in your trainer"). The same tags
reach TensorBoard through verl's ``tensorboard`` backend; ``tfevents`` reads them there.
"""

from __future__ import annotations

from typing import Final

import orjson

from value_diag.ingest.foreign import FlatLine, Source, number, step_of

KEYS: Final = {
    "critic/vf_explained_var": "explained_variance",
    "critic/values/mean": "value_mean",
    "critic/values/max": "value_max",
    "critic/values/min": "value_min",
    "critic/returns/mean": "return_mean",
    "critic/returns/max": "return_max",
    "critic/returns/min": "return_min",
}
"""verl's metric name -> the name of a flat line."""
CARRIED: Final = frozenset({"return_max", "return_min"})
SOURCE: Final = Source(
    name="verl file logger",
    fills=frozenset(KEYS.values()) - CARRIED,
    carried=CARRIED,
    hook="ValueDiagnostics after compute_advantage in RayPPOTrainer.fit() "
    "(value_diag.integrations.verl)",
)


def from_metrics(step: int, data: dict[str, object]) -> FlatLine | None:
    """One step's metrics (verl's names) as a flat line; None when it has none of KEYS."""
    metrics = {name: number(data.get(key)) for key, name in KEYS.items()}
    kept = {name: value for name, value in metrics.items() if value is not None}
    return {"step": step, **kept} if kept else None


def read_verl_jsonl(text: bytes) -> list[FlatLine]:
    """The flat lines of a verl file logger's output, one per step that logged the critic.

    Args:
        text: the file's bytes. A line that is not such a record (bad JSON, no whole
            ``step``, no ``data`` object) is skipped, as is a last line without its newline
            (still being written).
    """
    lines: list[FlatLine] = []
    complete = text[: text.rfind(b"\n") + 1]
    for raw in complete.splitlines():
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(record, dict):
            continue
        step = step_of(record.get("step"))
        data = record.get("data")
        if step is None or not isinstance(data, dict):
            continue
        line = from_metrics(step, data)
        if line is not None:
            lines.append(line)
    return lines
