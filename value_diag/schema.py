"""The panel's data model: the spec's snapshot dataclasses, with its names and defaults."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

VALUE_FIELDS: tuple[str, ...] = (
    "v_return_correlation",
    "td_error_mean",
    "td_error_std",
    "bellman_error",
    "return_p10",
    "return_p50",
    "return_p90",
    "return_variance",
    "return_skewness",
)
"""The nine value-function metrics, in the spec's order."""

COMPILE_FIELDS: tuple[str, ...] = ("compile_enabled", "compile_backend", "compile_mode")
"""The infrastructure fields the panel shows."""

CRITIC_FIELDS: tuple[str, ...] = (
    "explained_variance",
    "value_mean",
    "value_std",
    "value_min",
    "value_max",
)
"""The critic's own numbers: esper-lite's PPO update and TamiyoState names (value-diag's
CRITIC CALIBRATION block)."""

RUN_HEADER: str = "value_diag_run"
"""The key of a run header, the line TelemetryWriter writes first: an object naming what
wrote the run (``writer``), the value-diag ``version``, the ``rules`` it asks for, and
when it ``started`` (unix time). A reader starts the run afresh at it."""

FIT_FIELDS: tuple[str, ...] = ("return_mean",)
"""Statistics the verdict rules need beyond the nine and the critic's five, of the same
rollout: ``return_mean`` is the population mean of the returns (the value targets)."""
BOUND_FIELDS: tuple[str, ...] = ("value_bound_low", "value_bound_high")
"""The range any value of any policy lies in, given the rewards the run has had so far and
its discount: [min(0, r_min), max(0, r_max)] / (1 - gamma). Written by producers that see
the rewards and gamma (the SB3 callback, ``ValueBound``); a V far outside it is not a value
of these rewards."""
CHANGE_FIELDS: tuple[str, ...] = ("critic_change",)
"""How far the critic's own weights moved since the run's previous line, relative to their
size: ||w - w_prev|| / ||w_prev||. Written by producers that hold the critic (the SB3
callback, ``CriticChange``); 0 means the critic is not being trained."""
SAMPLE_FIELDS: tuple[str, ...] = ("samples",)
"""How many transitions the line's metrics describe (``compute_value_metrics`` counts them;
the integrations write how many they gathered). It tells how far the TD errors' mean may
stray from 0 by chance. Read only from a line that gives another of the RULE_FIELDS: a
line is not ours for it alone, and a count that is not a positive number is not read."""
RULE_FIELDS: tuple[str, ...] = FIT_FIELDS + BOUND_FIELDS + CHANGE_FIELDS + SAMPLE_FIELDS
"""Every number the verdict rules read beyond the nine and the critic's five
(SAMPLE_FIELDS last)."""
NAMING_FIELDS: tuple[str, ...] = RULE_FIELDS[: -len(SAMPLE_FIELDS)]
"""The RULE_FIELDS that make a line ours: all but SAMPLE_FIELDS."""

MAX_LINE: int = 256 * 1024
"""The longest line value-diag loads (bytes, without its newline): a line of ours that is
longer is counted bad ("line too long") without being parsed, and TelemetryWriter writes
none longer.

Parsing builds a Python object per JSON value, and the worst shapes cost far more than
their text: nested lists ([[[...]]], a list per two bytes) take some 50 bytes of memory
per byte of line, [[],[],...] and [{},{},...] about 30. With this limit a process's
peak RSS stays under 4x the line + 60 MiB for any line (measured through `once`: 47 MiB
for 256 KiB of nested lists, 36 MiB for 256 KiB of NaN; at 1 MiB nested lists took
85 MiB, at 16 MiB 836 MiB). Real telemetry lines are a few KB (an esper update: 3.6 KB).
"""


def _history() -> deque[float]:
    return deque(maxlen=100)


@dataclass
class ValueFunctionMetrics:
    """Value-function quality metrics of the latest PPO update."""

    v_return_correlation: float = 0.0
    td_error_mean: float = 0.0
    td_error_std: float = 0.0
    bellman_error: float = 0.0
    return_p10: float = 0.0
    return_p50: float = 0.0
    return_p90: float = 0.0
    return_skewness: float = 0.0
    return_variance: float = 0.0
    # Historical tracking (not used by this panel)
    value_predictions: deque[float] = field(default_factory=_history)
    actual_returns: deque[float] = field(default_factory=_history)
    td_errors: deque[float] = field(default_factory=_history)


@dataclass
class InfrastructureMetrics:
    """Device memory (GB) and torch.compile status of the training process."""

    cuda_memory_allocated_gb: float = 0.0
    cuda_memory_reserved_gb: float = 0.0
    cuda_memory_peak_gb: float = 0.0
    cuda_memory_fragmentation: float = 0.0
    compile_enabled: bool = False
    compile_backend: str = ""
    compile_mode: str = ""


@dataclass
class TamiyoState:
    """The policy agent's state: the parts the two panels read.

    The critic's five numbers sit on the agent's state itself, as in esper-lite's schema:
    explained variance 1 - Var(g - v) / Var(g), and the mean, standard deviation, minimum
    and maximum of the value predictions v.
    """

    value_function: ValueFunctionMetrics = field(default_factory=ValueFunctionMetrics)
    infrastructure: InfrastructureMetrics = field(default_factory=InfrastructureMetrics)
    explained_variance: float = 0.0
    value_mean: float = 0.0
    value_std: float = 0.0
    value_min: float = 0.0
    value_max: float = 0.0


@dataclass
class SanctumSnapshot:
    """One moment of a training run, as the dashboard sees it."""

    tamiyo: TamiyoState = field(default_factory=TamiyoState)
