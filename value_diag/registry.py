"""The metric registry: what each metric is called, how it is written, judged, coloured and
ranked, in one table that health, config and every renderer read. Pure data.

A metric is named once here; the panel's rows, the --compare columns and their priority,
the table's and markdown's and GitHub's cells, the styles, the judging rules and the config
file's vocabulary are all derived from ``REGISTRY``, so that a metric added here shows in
every view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final


class Rule(StrEnum):
    """How health judges a value (health.py holds each rule's function)."""

    CORRELATION = "correlation"
    TD_MEAN = "td_error_mean"
    TD_STD = "td_error_std"
    BELLMAN = "bellman_error"
    PERCENTILE = "return_percentile"
    VARIANCE = "return_variance"
    SKEWNESS = "return_skewness"
    SPREAD = "return_spread"


class ScaleFree(StrEnum):
    """What the scale-free preset does with a metric's default-preset thresholds."""

    SAME = "same"
    """Judged as under the default preset (or not judged by thresholds at all)."""
    INFO = "info"
    """Shown as information, unless the config file sets its thresholds."""
    RATIO = "ratio"
    """Judged by its ratio to the returns' own scale (``Metric.ratio``), unless the config
    file sets its own thresholds."""
    ONLY = "only"
    """Judged under the scale-free preset only (information under the default)."""
    NEVER = "never"
    """Not used by the scale-free preset (it measures flatness against the returns' size)."""


class Style(StrEnum):
    """How a metric within its thresholds, or shown as information, is coloured."""

    PLAIN = ""
    GREEN = "green"
    CYAN = "cyan"
    SIGN = "sign"
    """Information coloured by its sign: a negative return red, a positive one green."""


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric and everything the views need to know about it.

    Attributes:
        name: the key in files, JSON and config (``v_return_correlation``).
        label: how it is named in panels, tables, annotations and among culprits.
        ascii_label: ``label`` in ASCII, when it differs (``Ret sigma``, the
            Greek letter spelt out).
        block_label: its label in the CRITIC CALIBRATION block, when it differs there.
        signed: its number is written with a sign ("+2.4").
        row: its place among the ten metric rows of tables and annotations (None: none).
        critic_row: its place among the rows --critic adds (the critic block's own).
        column: its priority as a --compare column, lower first kept (None: no column).
        rule: how health judges its value (None: judged by a rule of its own in health).
        ok_style: its colour within its thresholds; ``info_style`` shown as information.
        keys: the config file's level keys -> the Thresholds field each sets.
        choices: the config file's keys naming a level, not a number -> the Rules field.
        higher_is_healthier: its alarms are below the thresholds (else above).
        absolute: judged by |x| or a ratio of positives (a negative threshold is refused).
        scale_free: what the scale-free preset does with its thresholds.
        ratio: the config metric the scale-free preset judges it by (ScaleFree.RATIO).
        parameters: config keys that are parameters of the rule, not a level's threshold.
    """

    name: str
    label: str
    ascii_label: str = ""
    block_label: str = ""
    signed: bool = False
    row: int | None = None
    critic_row: int | None = None
    column: int | None = None
    rule: Rule | None = None
    ok_style: Style = Style.PLAIN
    info_style: Style = Style.PLAIN
    keys: Mapping[str, str] = field(default_factory=dict)
    choices: Mapping[str, str] = field(default_factory=dict)
    higher_is_healthier: bool = False
    absolute: bool = False
    scale_free: ScaleFree = ScaleFree.SAME
    ratio: str = ""
    parameters: frozenset[str] = frozenset()

    def shown_as(self, ascii_only: bool = False) -> str:
        """The label, in ASCII if asked."""
        return (self.ascii_label or self.label) if ascii_only else self.label


SPREAD: Final = "return_spread"
SPAN: Final = "value_span"
"""value_max - value_min: how far apart the critic's predictions lie."""
CALIB: Final = "calib"
"""The CRITIC CALIBRATION verdict: the worst of V-Corr, EV, TD Mean and Bellman."""
CALIB_CORR: Final = "calib_corr"
"""V-Corr as the CRITIC CALIBRATION block judges it (esper-lite's panel warns below 0.6)."""
FIT: Final = "value_fit"
COMPILE: Final = "compile"
TD_BIAS: Final = "td_bias"
BELLMAN_RATIO: Final = "bellman_ratio"
LOW_VARIANCE: Final = "low_return_variance"
BOOTSTRAP: Final = "bootstrap"
"""Whether the advantages carry the TD errors' bias, as the returns of those TD errors must."""
VALUE_BOUND: Final = "value_bound"
"""Whether V lies within the range the run's rewards and discount allow any value in."""
CRITIC_CHANGE: Final = "critic_change"
"""How far the critic's own weights moved since the run's previous line."""


def scale_free_rule(name: str, label: str, keys: Mapping[str, str], **shown: Any) -> Metric:
    """A metric whose config keys are all parameters of a rule only the scale-free preset
    has (a ratio or share: no negative value), with how it is ``shown`` if it is."""
    return Metric(
        name,
        label,
        keys=keys,
        absolute=True,
        scale_free=ScaleFree.ONLY,
        parameters=frozenset(keys),
        **shown,
    )


REGISTRY: Final[tuple[Metric, ...]] = (
    # The config file's metrics first, in the order `value-diag thresholds` lists them.
    Metric(
        "v_return_correlation",
        "V-Corr",
        row=0,
        column=10,
        rule=Rule.CORRELATION,
        ok_style=Style.GREEN,
        keys={
            "excellent": "corr_excellent",
            "warning": "corr_warning",
            "critical": "corr_critical",
        },
        higher_is_healthier=True,
    ),
    Metric(
        "td_error_mean",
        "TD Mean",
        signed=True,
        row=2,
        column=50,
        rule=Rule.TD_MEAN,
        ok_style=Style.GREEN,
        keys={"warning": "td_mean_warning", "critical": "td_mean_critical"},
        absolute=True,
        scale_free=ScaleFree.RATIO,
        ratio=TD_BIAS,
    ),
    Metric(
        "bellman_error",
        "Bellman",
        row=1,
        column=20,
        rule=Rule.BELLMAN,
        ok_style=Style.GREEN,
        keys={"warning": "bellman_warning", "critical": "bellman_critical"},
        scale_free=ScaleFree.RATIO,
        ratio=BELLMAN_RATIO,
    ),
    Metric(
        "return_skewness",
        "Skew",
        signed=True,
        row=8,
        column=80,
        rule=Rule.SKEWNESS,
        ok_style=Style.CYAN,
        keys={"warning": "skew_warning", "critical": "skew_critical"},
        absolute=True,
        scale_free=ScaleFree.INFO,
    ),
    Metric(
        "return_variance",
        "Ret σ",
        ascii_label="Ret sigma",
        row=7,
        column=60,
        rule=Rule.VARIANCE,
        ok_style=Style.CYAN,
        keys={"warning": "variance_warning"},
        scale_free=ScaleFree.INFO,
    ),
    Metric(
        SPREAD,
        "p90-p10",
        row=9,
        column=70,
        rule=Rule.SPREAD,
        keys={"warning": "spread_warning"},
        scale_free=ScaleFree.INFO,
    ),
    Metric(
        "explained_variance",
        "EV",
        block_label="EV (fit)",
        critic_row=0,
        column=90,
        ok_style=Style.GREEN,
        keys={"warning": "ev_warning", "critical": "ev_critical"},
        higher_is_healthier=True,
    ),
    Metric(
        TD_BIAS,
        "TD bias",
        keys={"warning": "td_bias_warning", "critical": "td_bias_critical"},
        absolute=True,
        scale_free=ScaleFree.ONLY,
    ),
    Metric(
        BELLMAN_RATIO,
        "Bellman ratio",
        keys={"warning": "bellman_ratio_warning", "critical": "bellman_ratio_critical"},
        absolute=True,
        scale_free=ScaleFree.ONLY,
    ),
    Metric(
        LOW_VARIANCE,
        "low return variance",
        keys={"floor": "variance_floor"},
        absolute=True,
        scale_free=ScaleFree.NEVER,
        parameters=frozenset({"floor"}),
    ),
    Metric(
        FIT,
        "V-Fit",
        keys={"warning": "fit_warning", "critical": "fit_critical", "tolerance": "fit_tolerance"},
        higher_is_healthier=True,
        scale_free=ScaleFree.ONLY,
        parameters=frozenset({"tolerance"}),
    ),
    scale_free_rule(
        BOOTSTRAP,
        "bootstrap",
        {
            "significance": "bootstrap_significance",
            "z": "bootstrap_z",
            "carried": "bootstrap_carried",
        },
    ),
    scale_free_rule(VALUE_BOUND, "value bound", {"mean": "bound_mean"}),
    scale_free_rule(
        CRITIC_CHANGE, "critic change", {"frozen": "frozen_change", "replaced": "replaced_change"}
    ),
    Metric(
        CALIB_CORR,
        "V-Corr",
        keys={"warning": "calib_corr_warning"},
        higher_is_healthier=True,
    ),
    Metric(COMPILE, "Compile", ok_style=Style.GREEN, choices={"eager": "eager"}),
    # Shown, never set by a config file.
    Metric("td_error_std", "TD Std", row=3, column=30, rule=Rule.TD_STD),
    Metric(
        "return_p10",
        "p10",
        signed=True,
        row=4,
        column=150,
        rule=Rule.PERCENTILE,
        info_style=Style.SIGN,
    ),
    Metric(
        "return_p50",
        "p50",
        signed=True,
        row=5,
        column=140,
        rule=Rule.PERCENTILE,
        info_style=Style.SIGN,
    ),
    Metric(
        "return_p90",
        "p90",
        signed=True,
        row=6,
        column=160,
        rule=Rule.PERCENTILE,
        info_style=Style.SIGN,
    ),
    Metric(
        "value_mean",
        "V-Mean",
        signed=True,
        critic_row=1,
        column=170,
        info_style=Style.CYAN,
    ),
    Metric("value_std", "V-Std", critic_row=2, column=180, info_style=Style.CYAN),
    scale_free_rule(
        SPAN,
        "V-Span",
        {"constant": "constant_span"},
        critic_row=3,
        column=100,
        info_style=Style.CYAN,
    ),
    Metric(CALIB, "Calib", critic_row=4, column=110, ok_style=Style.GREEN),
    Metric("value_min", "V-Min", info_style=Style.CYAN),
    Metric("value_max", "V-Max", info_style=Style.CYAN),
)
"""Every metric: the config file's in its order, then those only shown.
Column priorities leave gaps for --compare's own columns (why, step, bad, compile, records)."""

BY_NAME: Final[Mapping[str, Metric]] = MappingProxyType({m.name: m for m in REGISTRY})


def rows() -> tuple[Metric, ...]:
    """The ten metrics of tables and annotations, in panel order (Compile, --critic's and
    V-Fit's rows come after them)."""
    return tuple(sorted((m for m in REGISTRY if m.row is not None), key=lambda m: m.row or 0))


def critic_rows() -> tuple[Metric, ...]:
    """The rows --critic adds: the CRITIC CALIBRATION block's own metrics, in order."""
    ranked = (m for m in REGISTRY if m.critic_row is not None)
    return tuple(sorted(ranked, key=lambda m: m.critic_row or 0))


def columns() -> dict[str, int]:
    """Each metric column's label (as --compare names it, ASCII) -> its priority."""
    return {m.shown_as(ascii_only=True): m.column for m in REGISTRY if m.column is not None}


def label(name: str, ascii_only: bool = False) -> str:
    """How a metric is named in notes, cells and among culprits."""
    return BY_NAME[name].shown_as(ascii_only)


def configured() -> tuple[Metric, ...]:
    """The metrics a config file sets thresholds of, in the order `thresholds` lists them."""
    return tuple(m for m in REGISTRY if m.keys)


def styled(style: Style, *, ok: bool) -> frozenset[str]:
    """The metrics coloured ``style`` within their thresholds (``ok``) or as information."""
    return frozenset(m.name for m in REGISTRY if (m.ok_style if ok else m.info_style) is style)
