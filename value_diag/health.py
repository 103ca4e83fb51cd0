"""Metric values -> health levels and icons. Pure; the one home of every threshold."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from value_diag.schema import VALUE_FIELDS, SanctumSnapshot

VALUE_PART: Final = "value_function"
INFRA_PART: Final = "infrastructure"
SPREAD: Final = "return_spread"
COMPILE: Final = "compile"


class Level(StrEnum):
    """How one metric stands. INFO metrics are shown but never alarm."""

    NO_DATA = "no_data"
    INFO = "info"
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


class Status(StrEnum):
    """The worst level of a frame; what --fail-on and the exit code compare."""

    NO_DATA = "no_data"
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


ALARMS: Final = frozenset({Level.WARNING, Level.CRITICAL})
"""The levels that call for attention: annotated in CI, bold in reports."""
_RANK: Final = {Level.NO_DATA: 0, Level.INFO: 0, Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2}
_STATUS_RANK: Final = {Status.NO_DATA: 0, Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2}


class Icon(StrEnum):
    """Glyph names; the panel maps them to Unicode or ASCII."""

    UP = "up"
    FLAT = "flat"
    DOWN = "down"
    SPREAD = "spread"
    CHECK = "check"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every number the health rules compare with; defaults are the spec's.

    Correlation: at or above ``corr_excellent`` excellent, at or above ``corr_warning``
    good, at or above ``corr_critical`` warning, below critical. The others alarm at or
    above their value (absolute value for TD mean and skewness), except variance and
    spread, which alarm strictly above theirs.
    """

    corr_excellent: float = 0.8
    corr_warning: float = 0.5
    corr_critical: float = 0.3
    td_mean_warning: float = 5.0
    td_mean_critical: float = 15.0
    bellman_warning: float = 20.0
    bellman_critical: float = 50.0
    skew_warning: float = 1.0
    skew_critical: float = 2.0
    variance_warning: float = 100.0
    spread_warning: float = 50.0


DEFAULT_THRESHOLDS: Final = Thresholds()

CONFIG_KEYS: Final[dict[str, dict[str, str]]] = {
    "v_return_correlation": {
        "excellent": "corr_excellent",
        "warning": "corr_warning",
        "critical": "corr_critical",
    },
    "td_error_mean": {"warning": "td_mean_warning", "critical": "td_mean_critical"},
    "bellman_error": {"warning": "bellman_warning", "critical": "bellman_critical"},
    "return_skewness": {"warning": "skew_warning", "critical": "skew_critical"},
    "return_variance": {"warning": "variance_warning"},
    "return_spread": {"warning": "spread_warning"},
}
"""How a config file names each threshold: metric -> level -> the Thresholds field."""

HIGHER_IS_HEALTHIER: Final = frozenset({"v_return_correlation"})
"""Metrics whose alarms are below the threshold; for the others they are above."""
ABSOLUTE: Final = frozenset({"td_error_mean", "return_skewness"})
"""Metrics judged by their absolute value: a negative threshold makes no sense."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A metric's level and an optional icon; render/styles.py says how to draw it."""

    level: Level
    icon: Icon | None = None


_CRITICAL: Final = Mark(Level.CRITICAL)
_WARNING: Final = Mark(Level.WARNING)
_OK: Final = Mark(Level.OK)
NOT_REPORTED: Final = Mark(Level.NO_DATA)


def correlation(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """V-Return correlation: the spec's four grades, each with its icon."""
    if not math.isfinite(x):
        return Mark(Level.CRITICAL, Icon.DOWN)
    if x >= t.corr_excellent:
        return Mark(Level.OK, Icon.UP)
    if x >= t.corr_warning:
        return Mark(Level.OK, Icon.FLAT)
    if x >= t.corr_critical:
        return Mark(Level.WARNING, Icon.FLAT)
    return Mark(Level.CRITICAL, Icon.DOWN)


def _banded(x: float, warning: float, critical: float) -> Mark:
    """At or above ``critical`` critical, at or above ``warning`` warning, else ok."""
    if not math.isfinite(x) or x >= critical:
        return _CRITICAL
    if x >= warning:
        return _WARNING
    return _OK


def td_error_mean(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Bias of the value estimates: |mean TD error|."""
    return _banded(abs(x), t.td_mean_warning, t.td_mean_critical)


def bellman_error(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Squared Bellman error: spikes often precede NaN losses."""
    return _banded(x, t.bellman_warning, t.bellman_critical)


def return_skewness(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Asymmetry of the return distribution: |skew|."""
    return _banded(abs(x), t.skew_warning, t.skew_critical)


def return_variance(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Variance of returns; negative is impossible and so critical."""
    if not math.isfinite(x) or x < 0:
        return _CRITICAL
    return _WARNING if x > t.variance_warning else Mark(Level.OK)


def return_percentile(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """A return percentile: informational (the panel colours it by its sign)."""
    if not math.isfinite(x):
        return _CRITICAL
    return Mark(Level.INFO)


def informational(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """A metric with no thresholds; only a non-finite value alarms."""
    return Mark(Level.INFO) if math.isfinite(x) else _CRITICAL


def return_spread(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """p90 - p10: a wide spread means some episodes succeed and others collapse."""
    if not math.isfinite(x):
        return Mark(Level.CRITICAL, Icon.SPREAD)
    if x > t.spread_warning:
        return Mark(Level.WARNING, Icon.SPREAD)
    return _OK


def compile_status(enabled: bool) -> Mark:
    """Eager mode costs 3-5x in speed: a warning."""
    if enabled:
        return Mark(Level.OK, Icon.CHECK)
    return _WARNING


RULES: Final = {
    "v_return_correlation": correlation,
    "td_error_mean": td_error_mean,
    "td_error_std": informational,
    "bellman_error": bellman_error,
    "return_p10": return_percentile,
    "return_p50": return_percentile,
    "return_p90": return_percentile,
    "return_variance": return_variance,
    "return_skewness": return_skewness,
}


@dataclass(frozen=True, slots=True)
class Health:
    """The marks of one frame and its overall status.

    ``values`` holds the nine metrics and ``return_spread``; ``marks`` those ten and
    ``compile``.
    """

    status: Status
    values: Mapping[str, float] = field(default_factory=dict)
    marks: Mapping[str, Mark] = field(default_factory=dict)


def assess(
    snapshot: SanctumSnapshot | None,
    unreported: frozenset[str] = frozenset(),
    t: Thresholds = DEFAULT_THRESHOLDS,
) -> Health:
    """Marks every metric of a snapshot; parts named in ``unreported`` are not judged."""
    if snapshot is None:
        return Health(Status.NO_DATA)
    vf = snapshot.tamiyo.value_function
    values = {name: float(getattr(vf, name)) for name in VALUE_FIELDS}
    values[SPREAD] = values["return_p90"] - values["return_p10"]
    marks: dict[str, Mark] = {}
    if VALUE_PART in unreported:
        marks.update((name, NOT_REPORTED) for name in values)
    else:
        marks.update((name, RULES[name](values[name], t)) for name in VALUE_FIELDS)
        marks[SPREAD] = return_spread(values[SPREAD], t)
    if INFRA_PART in unreported:
        marks[COMPILE] = NOT_REPORTED
    else:
        marks[COMPILE] = compile_status(snapshot.tamiyo.infrastructure.compile_enabled)
    worst = max(_RANK[m.level] for m in marks.values())
    status = (Status.OK, Status.WARNING, Status.CRITICAL)[worst]
    return Health(status, values, marks)


def reaches(status: Status, threshold: Status | None) -> bool:
    """True when ``status`` is at or above ``threshold`` (None: never)."""
    if threshold is None or threshold in (Status.NO_DATA, Status.OK):
        return False
    return _STATUS_RANK[status] >= _STATUS_RANK[threshold]
