"""Metric values -> health levels and icons. Pure; the one home of every threshold."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, Final

from value_diag.schema import CRITIC_FIELDS, VALUE_FIELDS, SanctumSnapshot

VALUE_PART: Final = "value_function"
INFRA_PART: Final = "infrastructure"
SPREAD: Final = "return_spread"
COMPILE: Final = "compile"
SPAN: Final = "value_span"
"""value_max - value_min: how far apart the critic's predictions lie."""
CALIB: Final = "calib"
"""The CRITIC CALIBRATION verdict: the worst of V-Corr, EV, TD Mean and Bellman."""
CRITIC_MARKS: Final = (*CRITIC_FIELDS, SPAN, CALIB)
"""The marks of the CRITIC CALIBRATION block that the five-line panel does not have."""
LOW_RETURN_VARIANCE: Final = "low return variance"
"""The note of a metric not judged because the returns hardly vary (below the floor)."""


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


class Preset(StrEnum):
    """Which rules judge the value function.

    DEFAULT is the spec's table, in the units of the rewards. SCALE_FREE judges only
    quantities that do not change when the rewards are scaled or shifted: correlation,
    explained variance, and TD mean and Bellman error as fractions of the return spread.
    """

    DEFAULT = "default"
    SCALE_FREE = "scale-free"


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

    Explained variance: at or below ``ev_critical`` critical, below ``ev_warning``
    warning. ``td_bias_*`` (|td_error_mean| / return sigma) and ``bellman_ratio_*``
    (bellman_error / return variance) judge TD Mean and Bellman under the scale-free
    preset. While the return variance is below ``variance_floor``, explained variance
    (and under scale-free, V-Corr and the two ratios) is not judged. The choices that
    are not numbers are Rules'.
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
    ev_warning: float = 0.3
    ev_critical: float = 0.0
    td_bias_warning: float = 0.25
    td_bias_critical: float = 0.5
    bellman_ratio_warning: float = 0.25
    bellman_ratio_critical: float = 1.0
    variance_floor: float = 1.0


DEFAULT_THRESHOLDS: Final = Thresholds()
DEFAULT_ORIGIN: Final = "default"
"""Where DEFAULT_THRESHOLDS come from, as JSON's "thresholds" says (else a config file's path)."""


@dataclass(frozen=True, slots=True)
class Rules(Thresholds):
    """The thresholds and the choices that are not numbers.

    ``preset`` picks the rules; ``eager`` is the level of a run with torch.compile off;
    ``explicit`` names the config metrics whose thresholds a file set (under scale-free
    they keep those thresholds); ``critic`` counts the CRITIC CALIBRATION block in the
    status (``--critic``). ``max_age`` (s, ``--max-age``) makes a run whose last record
    is older than that stale, and a stale run critical. Plain Thresholds judge as the
    default Rules.
    """

    eager: Level = Level.WARNING
    preset: Preset = Preset.DEFAULT
    explicit: frozenset[str] = frozenset()
    critic: bool = False
    max_age: float | None = None


DEFAULT_RULES: Final = Rules()


def rules_of(
    t: Thresholds,
    *,
    eager: Level | None = None,
    preset: Preset | None = None,
    explicit: frozenset[str] | None = None,
    critic: bool | None = None,
    max_age: float | None = None,
) -> Rules:
    """``t`` as Rules, with the choices given replaced (the others kept, or the defaults)."""
    base = t if isinstance(t, Rules) else DEFAULT_RULES
    numbers: dict[str, Any] = {f.name: getattr(t, f.name) for f in fields(Thresholds)}
    return Rules(
        **numbers,
        eager=base.eager if eager is None else eager,
        preset=base.preset if preset is None else preset,
        explicit=base.explicit if explicit is None else explicit,
        critic=base.critic if critic is None else critic,
        max_age=base.max_age if max_age is None else max_age,
    )


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
    "explained_variance": {"warning": "ev_warning", "critical": "ev_critical"},
    "td_bias": {"warning": "td_bias_warning", "critical": "td_bias_critical"},
    "bellman_ratio": {"warning": "bellman_ratio_warning", "critical": "bellman_ratio_critical"},
    "low_return_variance": {"floor": "variance_floor"},
}
"""How a config file names each threshold: metric -> level -> the Thresholds field."""

LEVEL_KEYS: Final[dict[str, dict[str, str]]] = {"compile": {"eager": "eager"}}
"""Config entries that name a level ("ok", "info", "warning", "critical"), not a number:
metric -> key -> the Rules field."""
PRESET_KEY: Final = "preset"
"""The config key (and Rules field) naming the preset."""

SCALE_FREE_ONLY: Final = {"td_error_mean": "td_bias", "bellman_error": "bellman_ratio"}
"""Metric -> the config metric of its scale-free ratio, which the default preset does not use."""
SCALE_FREE_INFO: Final = frozenset(
    {"td_error_mean", "bellman_error", "return_skewness", "return_variance", "return_spread"}
)
"""Config metrics the scale-free preset does not judge unless the config sets them."""

REASONS: Final[dict[tuple[str, str], str]] = {
    ("explained_variance", "warning"): "the critic explains under a third of the return variance",
    ("explained_variance", "critical"): "predicting the mean return would do as well or better",
    ("td_bias", "warning"): "|td_error_mean| / return sigma: V lags or leads the returns",
    ("td_bias", "critical"): "V's bias is half the spread of the returns: advantages carry it",
    ("bellman_ratio", "warning"): "bellman_error / return variance: RMS TD error half a sigma",
    ("bellman_ratio", "critical"): "RMS TD error as wide as the returns: V is no guide to them",
    ("low_return_variance", "floor"): "flatter returns make EV, V-Corr and the ratios noise: info",
}
"""Why each scale-free level stands where it does (printed by `value-diag thresholds`)."""

HIGHER_IS_HEALTHIER: Final = frozenset({"v_return_correlation", "explained_variance"})
"""Metrics whose alarms are below the threshold; for the others they are above."""
ABSOLUTE: Final = frozenset(
    {"td_error_mean", "return_skewness", "td_bias", "bellman_ratio", "low_return_variance"}
)
"""Metrics judged by an absolute value or a ratio of positives: a negative threshold makes
no sense."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A metric's level, an optional icon, and why it is not judged (``note``), if so."""

    level: Level
    icon: Icon | None = None
    note: str | None = None


_CRITICAL: Final = Mark(Level.CRITICAL)
_WARNING: Final = Mark(Level.WARNING)
_OK: Final = Mark(Level.OK)
_INFO: Final = Mark(Level.INFO)
_UNRELIABLE: Final = Mark(Level.INFO, note=LOW_RETURN_VARIANCE)
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


def compile_status(enabled: bool, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Eager mode costs 3-5x in speed: a warning, unless the config says it is expected."""
    if enabled:
        return Mark(Level.OK, Icon.CHECK)
    return Mark(rules_of(t).eager)


def explained_variance(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """EV = 1 - Var(g - v) / Var(g): at or below 0 the critic is no better than the mean."""
    if not math.isfinite(x) or x <= t.ev_critical:
        return _CRITICAL
    return _WARNING if x < t.ev_warning else _OK


def td_bias(td_mean: float, variance: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Scale-free TD Mean: |td_error_mean| / return sigma."""
    if not math.isfinite(td_mean):
        return _CRITICAL
    if not math.isfinite(variance) or variance <= 0:
        return _INFO  # no spread to compare with; the variance's own mark says why
    return _banded(abs(td_mean) / math.sqrt(variance), t.td_bias_warning, t.td_bias_critical)


def bellman_ratio(bellman: float, variance: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Scale-free Bellman: bellman_error / return variance = (RMS TD error / return sigma)^2."""
    if not math.isfinite(bellman):
        return _CRITICAL
    if not math.isfinite(variance) or variance <= 0:
        return _INFO
    return _banded(bellman / variance, t.bellman_ratio_warning, t.bellman_ratio_critical)


def low_return_variance(variance: float, t: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """Whether the returns vary too little for EV and correlations to mean anything."""
    return 0 <= variance < t.variance_floor


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

    ``values`` holds the nine metrics, ``return_spread``, the critic's five and
    ``value_span``; ``marks`` the ten of the five-line panel and ``compile``; ``critic``
    the CRITIC CALIBRATION block's own: the critic's five, ``value_span`` and ``calib``.
    The status counts ``critic`` only when the thresholds say so (``--critic``).
    ``stale`` is the age of the last record (s) of a run judged stale, else None.
    """

    status: Status
    values: Mapping[str, float] = field(default_factory=dict)
    marks: Mapping[str, Mark] = field(default_factory=dict)
    critic: Mapping[str, Mark] = field(default_factory=dict)
    stale: float | None = None

    def mark(self, name: str) -> Mark:
        """The mark of any metric, of the panel or of the critic block."""
        return self.marks.get(name) or self.critic.get(name) or NOT_REPORTED


def is_stale(age: float | None, t: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """Whether a run whose last record is ``age`` seconds old (None: no record) is stale."""
    max_age = t.max_age if isinstance(t, Rules) else None
    return max_age is not None and age is not None and age > max_age


def assess(
    snapshot: SanctumSnapshot | None,
    unreported: frozenset[str] = frozenset(),
    t: Thresholds = DEFAULT_THRESHOLDS,
    age: float | None = None,
) -> Health:
    """Marks every metric of a snapshot; parts named in ``unreported`` are not judged.

    ``unreported`` holds part names (VALUE_PART, INFRA_PART) and the names of the
    critic's fields a file has not given. ``age`` is how old the last record is (s):
    past the rules' ``max_age`` the run is stale, and critical whatever its metrics.
    """
    health = _assess(snapshot, unreported, t)
    if snapshot is None or not is_stale(age, t):
        return health
    return replace(health, status=Status.CRITICAL, stale=age)


def _assess(snapshot: SanctumSnapshot | None, unreported: frozenset[str], t: Thresholds) -> Health:
    if snapshot is None:
        return Health(Status.NO_DATA)
    r = rules_of(t)
    tamiyo = snapshot.tamiyo
    vf = tamiyo.value_function
    values = {name: float(getattr(vf, name)) for name in VALUE_FIELDS}
    values[SPREAD] = values["return_p90"] - values["return_p10"]
    values.update((name, float(getattr(tamiyo, name))) for name in CRITIC_FIELDS)
    values[SPAN] = values["value_max"] - values["value_min"]
    reported = VALUE_PART not in unreported
    low = reported and low_return_variance(values["return_variance"], t)
    marks: dict[str, Mark] = {}
    if reported:
        marks.update(_value_marks(values, low, r))
    else:
        marks.update((name, NOT_REPORTED) for name in (*VALUE_FIELDS, SPREAD))
    if INFRA_PART in unreported:
        marks[COMPILE] = NOT_REPORTED
    else:
        marks[COMPILE] = compile_status(tamiyo.infrastructure.compile_enabled, r)
    critic = _critic_marks(values, marks, unreported, low, r)
    judged = [*marks.values(), *(critic.values() if r.critic else ())]
    worst = max(_RANK[m.level] for m in judged)
    status = (Status.OK, Status.WARNING, Status.CRITICAL)[worst]
    return Health(status, values, marks, critic)


def _value_marks(values: Mapping[str, float], low: bool, t: Rules) -> dict[str, Mark]:
    """The ten marks of the value metrics, by the preset's rules."""
    marks = {name: RULES[name](values[name], t) for name in VALUE_FIELDS}
    marks[SPREAD] = return_spread(values[SPREAD], t)
    if t.preset is not Preset.SCALE_FREE:
        return marks
    variance = values["return_variance"]
    own = t.explicit  # what the config set keeps its own thresholds
    if "td_error_mean" not in own:
        marks["td_error_mean"] = td_bias(values["td_error_mean"], variance, t)
    if "bellman_error" not in own:
        marks["bellman_error"] = bellman_ratio(values["bellman_error"], variance, t)
    for name in ("return_skewness", "return_variance", SPREAD):
        if name not in own:
            marks[name] = _shape(name, values[name])
    if low:
        for name in ("v_return_correlation", "td_error_mean", "bellman_error"):
            if name not in own and math.isfinite(values[name]):
                marks[name] = _UNRELIABLE
    return marks


def _shape(name: str, x: float) -> Mark:
    """The return distribution's shape under scale-free: information, unless impossible
    (non-finite, or a negative variance)."""
    if not math.isfinite(x) or (name == "return_variance" and x < 0):
        return _CRITICAL
    return _INFO


def _critic_marks(
    values: Mapping[str, float],
    marks: Mapping[str, Mark],
    unreported: frozenset[str],
    low: bool,
    t: Thresholds,
) -> dict[str, Mark]:
    """The CRITIC CALIBRATION block's marks: EV judged, the value statistics shown."""
    out: dict[str, Mark] = {}
    for name in CRITIC_FIELDS:
        if name in unreported:
            out[name] = NOT_REPORTED
        elif name == "explained_variance":
            out[name] = _UNRELIABLE if low else explained_variance(values[name], t)
        else:
            out[name] = informational(values[name], t)
    span_known = "value_min" not in unreported and "value_max" not in unreported
    out[SPAN] = informational(values[SPAN], t) if span_known else NOT_REPORTED
    parts = [marks["v_return_correlation"], out["explained_variance"]]
    parts += [marks["td_error_mean"], marks["bellman_error"]]
    out[CALIB] = calibration(parts)
    return out


def calibration(parts: list[Mark]) -> Mark:
    """Calib: bad (critical) if any part is critical, weak (warning) if any warns, else ok."""
    levels = {m.level for m in parts}
    if Level.CRITICAL in levels:
        return _CRITICAL
    if Level.WARNING in levels:
        return _WARNING
    if levels <= {Level.NO_DATA}:
        return NOT_REPORTED
    if Level.OK not in levels:  # every part shown as info: nothing to sum up
        return Mark(Level.INFO, note=next((m.note for m in parts if m.note), None))
    return _OK


CALIB_WORDS: Final = {
    Level.CRITICAL: "bad",
    Level.WARNING: "weak",
    Level.OK: "ok",
    Level.INFO: "n/a",
}
"""The word Calib shows for its level, as esper-lite's panel says it ("n/a": none of its
parts could be judged)."""


def reaches(status: Status, threshold: Status | None) -> bool:
    """True when ``status`` is at or above ``threshold`` (None: never)."""
    if threshold is None or threshold in (Status.NO_DATA, Status.OK):
        return False
    return _STATUS_RANK[status] >= _STATUS_RANK[threshold]
