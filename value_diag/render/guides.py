"""What the report charts: one chart per metric, and the thresholds drawn on each.

The thresholds are read from the rules that judged the run (health.Rules), never written
here: a chart shows the line a value crosses to turn yellow or red under the preset and
the config in force. Where a scale-free rule compares a ratio (TD Mean as |bias| / D,
Bellman as bellman_error / D^2, D the returns' own scale), the metric's chart says so and
the ratio has a chart of its own, with the ratio's thresholds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

from value_diag import health
from value_diag.health import Preset, Rules
from value_diag.render.panel import FIT_LABEL, metric_label

Side = Literal["above", "below"]
"""Which side of a line alarms."""


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart: the Health.values name it draws, its title, and why it is there."""

    key: str
    label: str
    about: str
    sigma: bool = False
    """The value is a variance, drawn as its standard deviation (as the panel shows it)."""


RATIO_LABELS: Final = {health.TD_BIAS: "TD bias / D", health.BELLMAN_RATIO: "Bellman / D²"}

CHARTS: Final = (
    Chart("v_return_correlation", metric_label("v_return_correlation"), "V(s) against returns"),
    Chart("bellman_error", metric_label("bellman_error"), "Bellman error"),
    Chart("td_error_mean", metric_label("td_error_mean"), "mean TD error"),
    Chart("td_error_std", metric_label("td_error_std"), "TD error spread"),
    Chart("return_p10", "Returns p10", "10th percentile of returns"),
    Chart("return_p50", "Returns p50", "median return"),
    Chart("return_p90", "Returns p90", "90th percentile of returns"),
    Chart("return_variance", metric_label("return_variance"), "sqrt of return_variance", True),
    Chart("return_skewness", metric_label("return_skewness"), "skewness of returns"),
    Chart(health.SPREAD, metric_label(health.SPREAD), "p90 - p10"),
    Chart("explained_variance", metric_label("explained_variance"), "explained variance"),
    Chart(health.FIT, FIT_LABEL, "1 - E[(g - v)^2] / D^2"),
    Chart(health.TD_BIAS, RATIO_LABELS[health.TD_BIAS], "scale-free TD Mean: |mean(g - v)| / D"),
    Chart(
        health.BELLMAN_RATIO,
        RATIO_LABELS[health.BELLMAN_RATIO],
        "scale-free Bellman: bellman_error / D^2",
    ),
    Chart("value_mean", metric_label("value_mean"), "mean of V(s)"),
    Chart("value_std", metric_label("value_std"), "spread of V(s)"),
    Chart(health.SPAN, metric_label(health.SPAN), "value_max - value_min"),
)
"""Every chart, in panel order, then the critic's, then the scale-free ratios' and the
critic's statistics. A chart no run has a point for is left out of the page."""

LevelName = Literal["ok", "info", "warning", "critical"]


@dataclass(frozen=True, slots=True)
class Line:
    """A threshold: at ``y``, the ``side`` of it is ``level`` (ok: where excellent starts)."""

    y: float
    level: LevelName
    side: Side
    label: str


@dataclass(frozen=True, slots=True)
class Guide:
    """The lines of one chart under one set of rules, and what a reader must know."""

    lines: tuple[Line, ...] = ()
    note: str | None = None


INFO: Final = "information: no threshold"
RELATIVE: Final = "scale-free: its thresholds are relative to the returns' scale D, see "


def _n(x: float) -> str:
    return f"{x:g}"


def _above(warning: float, critical: float, name: str, strict: bool = False) -> tuple[Line, ...]:
    at = ">" if strict else "≥"
    return (
        Line(warning, "warning", "above", f"warning: {name} {at} {_n(warning)}"),
        Line(critical, "critical", "above", f"critical: {name} {at} {_n(critical)}"),
    )


def _both(warning: float, critical: float, name: str) -> tuple[Line, ...]:
    """Lines for a rule on |x|: each threshold above zero and its mirror below."""
    up = _above(warning, critical, f"|{name}|")
    return up + tuple(Line(-line.y, line.level, "below", line.label) for line in up)


def _below(warning: float, critical: float, name: str, at_critical: str) -> tuple[Line, ...]:
    return (
        Line(warning, "warning", "below", f"warning: {name} < {_n(warning)}"),
        Line(critical, "critical", "below", f"critical: {name} {at_critical} {_n(critical)}"),
    )


def guide(key: str, rules: Rules) -> Guide:
    """The thresholds of chart ``key`` under ``rules``: those that judge the drawn value."""
    scale_free = rules.preset is Preset.SCALE_FREE
    own = rules.explicit

    def free(metric: str) -> bool:  # judged scale-free: the config did not set it
        return scale_free and metric not in own

    if key == "v_return_correlation":
        excellent = Line(rules.corr_excellent, "ok", "above", f"excellent ≥ {rules.corr_excellent}")
        if free(key):
            warn = Line(rules.corr_warning, "warning", "below", f"warning: < {rules.corr_warning}")
            return Guide(
                (excellent, warn),
                "scale-free: a warning however low (V-Fit says critical); not judged while"
                " the returns hardly vary",
            )
        return Guide((excellent, *_below(rules.corr_warning, rules.corr_critical, "V-Corr", "<")))
    if key == "td_error_mean":
        if free(key):
            return Guide(note=RELATIVE + RATIO_LABELS[health.TD_BIAS])
        return Guide(_both(rules.td_mean_warning, rules.td_mean_critical, "TD Mean"))
    if key == "bellman_error":
        if free(key):
            return Guide(note=RELATIVE + RATIO_LABELS[health.BELLMAN_RATIO])
        return Guide(_above(rules.bellman_warning, rules.bellman_critical, "Bellman"))
    if key == "return_variance":
        if free(key):
            return Guide(note="scale-free: " + INFO)
        sigma = math.sqrt(rules.variance_warning) if rules.variance_warning >= 0 else math.nan
        label = f"warning: variance > {_n(rules.variance_warning)}"
        return Guide((Line(sigma, "warning", "above", label),) if math.isfinite(sigma) else ())
    if key == "return_skewness":
        if free(key):
            return Guide(note="scale-free: " + INFO)
        return Guide(_both(rules.skew_warning, rules.skew_critical, "Skew"))
    if key == health.SPREAD:
        if free(key):
            return Guide(note="scale-free: " + INFO)
        label = f"warning: spread > {_n(rules.spread_warning)}"
        return Guide((Line(rules.spread_warning, "warning", "above", label),))
    if key in ("return_p10", "return_p50", "return_p90"):
        return Guide((Line(0.0, "info", "below", "below 0: red in the panel"),), INFO)
    if key == "explained_variance":
        counted = "counts toward the status" if rules.critic else "counts with --critic"
        lines = _below(rules.ev_warning, rules.ev_critical, "EV", "≤")
        return Guide(lines, f"the CRITIC CALIBRATION block's; {counted}")
    if key == health.FIT:
        if not scale_free:
            return Guide(note="judged under the scale-free preset only: " + INFO)
        return Guide(_below(rules.fit_warning, rules.fit_critical, "V-Fit", "≤"))
    if key == health.TD_BIAS:
        if not free("td_error_mean"):
            return Guide(note="not judged: TD Mean keeps its own thresholds")
        lines = _above(rules.td_bias_warning, rules.td_bias_critical, "|bias| / D")
        return Guide(lines, "what the scale-free rules judge TD Mean by")
    if key == health.BELLMAN_RATIO:
        if not free("bellman_error"):
            return Guide(note="not judged: Bellman keeps its own thresholds")
        lines = _above(rules.bellman_ratio_warning, rules.bellman_ratio_critical, "ratio")
        return Guide(lines, "what the scale-free rules judge Bellman by")
    return Guide(note=INFO)
