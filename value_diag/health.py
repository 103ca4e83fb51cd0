"""Metric values -> health levels and icons. Pure; the one home of every threshold."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Final

from value_diag import registry
from value_diag.registry import REGISTRY, Rule, ScaleFree
from value_diag.schema import CRITIC_FIELDS, VALUE_FIELDS, SanctumSnapshot

VALUE_PART: Final = "value_function"
INFRA_PART: Final = "infrastructure"
SPREAD: Final = registry.SPREAD
COMPILE: Final = registry.COMPILE
SPAN: Final = registry.SPAN
"""value_max - value_min: how far apart the critic's predictions lie."""
CALIB: Final = registry.CALIB
"""The CRITIC CALIBRATION verdict: the worst of V-Corr, EV, TD Mean and Bellman."""
CALIB_CORR: Final = registry.CALIB_CORR
"""V-Corr as the CRITIC CALIBRATION block judges it (esper-lite's panel warns below 0.6)."""
FIT: Final = registry.FIT
"""V-Fit, 1 - E[(g - v)^2] / D^2: how much of the returns the critic predicts, its bias
included, against D = max(sigma(g), tolerance * |mean g|) (see Scale). The scale-free
preset's verdict on the critic as a whole; information under the default preset."""
TD_BIAS: Final = registry.TD_BIAS
"""|mean(g - v)| / D: what the scale-free rules compare TD Mean's thresholds with (in
Health.values under scale-free, when D is known)."""
BELLMAN_RATIO: Final = registry.BELLMAN_RATIO
"""bellman_error / D^2 (esper-lite's mean |TD error| squared first): what the scale-free
rules compare Bellman's thresholds with (in Health.values as TD_BIAS is)."""
LOW_RETURN_VARIANCE: Final = "low return variance"
"""The note of a metric not judged because the returns hardly vary (below the floor)."""
NO_RETURN_MEAN: Final = "no return_mean: V's bias not judged"
"""The note of V-Fit judged on the spread of g - v alone, the file giving no return_mean."""
NO_EV: Final = "no explained_variance: not judged"
"""The note of V-Fit when the file gives no explained variance to judge it by."""
NO_SCALE: Final = "returns all zero: nothing to compare with"
"""The note of a scale-free ratio whose returns have neither spread nor size."""
NO_VARIANCE: Final = "no return_variance: the returns' scale is unknown"
"""The note of a scale-free ratio, and of V-Fit, when the run has not reported the returns'
variance to measure them against."""
ONE_STEP_TD: Final = "one-step TD mean: no return_mean for the advantages' bias"
"""The note of TD Mean judged by the one-step TD mean, which understates V's bias."""
BOOTSTRAP_DISAGREES: Final = (
    "the returns do not carry the TD errors' bias: another gamma or bootstrap made them"
)
"""The note of TD Mean when the advantages do not carry the TD errors' bias."""
BEYOND_BOUND: Final = "V lies beyond any value the run's rewards and gamma allow"
"""The note of V-Fit when V's values lie outside the value bound (BOUND_FIELDS)."""
CRITIC_FROZEN: Final = "the critic's weights did not move since the last update"
"""The note of V-Fit when the critic is not being trained (CHANGE_FIELDS)."""
CRITIC_REPLACED: Final = (
    "the critic's weights moved more than their own size: replaced, not trained"
)
"""The note of V-Fit when the critic's weights jumped since the line before (CHANGE_FIELDS)."""
CRITIC_UNTRAINED: Final = "the critic's weights have not moved since the run began: untrained"
"""The note of V-Fit when no line of the run said the critic moved (CHANGE_FIELDS)."""
CONSTANT_VALUE: Final = "V is one number for every state while the returns differ: a dead critic"
"""The note of V-Fit when V's span is nothing against returns that vary (``constant_value``)."""


class Level(StrEnum):
    """How one metric stands. INFO metrics are shown but never alarm."""

    NO_DATA = "no_data"
    INFO = "info"
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def word(self) -> str:
        """The level in human text ("no data"; the value, "no_data", is JSON's)."""
        return self.value.replace("_", " ")


class Status(StrEnum):
    """The worst level of a frame; what --fail-on and the exit code compare."""

    NO_DATA = "no_data"
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def word(self) -> str:
        """The status in human text ("no data"; the value, "no_data", is JSON's)."""
        return self.value.replace("_", " ")


ALARMS: Final = frozenset({Level.WARNING, Level.CRITICAL})
JUDGED: Final = frozenset({Level.OK, Level.WARNING, Level.CRITICAL})
"""The levels of a metric that was judged: a frame none of whose value metrics has one
is NO_DATA, never ok (a gate passes on nothing)."""
"""The levels that call for attention: annotated in CI, bold in reports."""
_RANK: Final = {Level.NO_DATA: 0, Level.INFO: 0, Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2}
STATUS_RANK: Final = {Status.NO_DATA: 0, Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2}
"""How serious a status is: what --fail-on compares (NO_DATA and OK never fire)."""
BY_RANK: Final = (Status.OK, Status.WARNING, Status.CRITICAL)
"""The status of each rank."""


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
    warning. While the return variance is below ``variance_floor``, explained variance
    is not judged (the default preset).

    The scale-free preset compares everything with the returns' own scale D = max(sigma(g),
    fit_tolerance * |mean g|): their spread, or, when they hardly vary, a share of their
    size, so that nearly constant returns are judged by how close V comes to them. V-Fit
    (``fit_*``, 1 - E[(g - v)^2] / D^2) alarms like explained variance; ``td_bias_*``
    (|mean(g - v)| / D, the advantages' bias) judges TD Mean and ``bellman_ratio_*``
    (bellman_error / D^2) Bellman. While the returns' spread is under ``fit_tolerance`` of
    their size, correlation and explained variance are noise and not judged; otherwise
    V-Corr warns, and V-Fit alone says critical. ``calib_corr_warning`` is where the CRITIC
    CALIBRATION block's V-Corr warns (esper-lite's panel). ``bootstrap_*`` check that the
    returns and the TD errors come from the same bootstrap: when the TD errors lean one way
    (|TD mean| at least ``bootstrap_z`` standard errors, TD Std / sqrt(samples), from 0; at
    least ``bootstrap_significance`` of TD Std on a line without samples), the advantages' bias
    mean(g - v) must carry at least ``bootstrap_carried`` of the TD mean, with its sign, or
    TD Mean is critical (see ``bootstrap_agrees``). When the file gives the range the run's
    rewards allow any value in (BOUND_FIELDS), V's mean lying more than ``bound_mean`` of
    its width outside it makes V-Fit critical (``beyond_bound``); once a line of the run
    said the critic was replaced (below), V's values lying that far outside it by their
    mean and spread together do. When it gives how far the critic's weights moved since
    the line before (CHANGE_FIELDS), a move of at most ``frozen_change`` of their size
    makes V-Fit at least a warning: the critic is not being trained; critical when no line
    of the run said it moved at all: it never was (``Fit.moved``); a move of more than
    ``replaced_change`` of their size makes it critical, and fires at once after the
    warm-up: the critic was replaced or blown up, not trained (``replaced``). V's span
    (value_max - value_min) at most ``constant_span`` of D while the returns vary makes
    V-Fit critical: the critic no longer tells states apart (``constant_value``). The
    choices that are not numbers are Rules'.
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
    td_bias_warning: float = 0.5
    td_bias_critical: float = 1.0
    bellman_ratio_warning: float = 0.25
    bellman_ratio_critical: float = 1.0
    variance_floor: float = 1.0
    fit_warning: float = 0.3
    fit_critical: float = 0.0
    fit_tolerance: float = 0.3
    calib_corr_warning: float = 0.6
    bootstrap_significance: float = 0.5
    bootstrap_z: float = 4.0
    bootstrap_carried: float = 0.5
    bound_mean: float = 0.25
    frozen_change: float = 0.0
    replaced_change: float = 1.0
    constant_span: float = 0.0


DEFAULT_THRESHOLDS: Final = Thresholds()
DEFAULT_ORIGIN: Final = "default"
"""Where DEFAULT_THRESHOLDS come from, as JSON's "thresholds" says (else a config file's path)."""


@dataclass(frozen=True, slots=True)
class Rules(Thresholds):
    """The thresholds and the choices that are not numbers.

    ``preset`` picks the rules, and ``preset_from`` says why ("default", "--preset", a
    config file, or the writer a run's first record names); ``warmup`` is how many updates
    a run makes before a gate (--fail-on) may fire, ``persist`` how many consecutive
    updates a level must hold to fire it; ``eager`` is the level of a run with torch.compile off;
    ``explicit`` names the config metrics whose thresholds a file set (under scale-free
    they keep those thresholds); ``critic`` counts the CRITIC CALIBRATION block in the
    status (``--critic``). ``max_age`` (s, ``--max-age``) makes a run whose last record
    is older than that stale, and a stale run critical. Every judging function and every
    field that carries what judges a frame takes Rules; the rules of one metric read only
    the numbers (Thresholds).
    """

    eager: Level = Level.WARNING
    preset: Preset = Preset.DEFAULT
    explicit: frozenset[str] = frozenset()
    critic: bool = False
    max_age: float | None = None
    warmup: int | None = None
    persist: int | None = None
    preset_from: str = "default"

    @property
    def gate(self) -> tuple[int, int]:
        """(warm-up, persistence) in updates: those set, else the preset's (GATES)."""
        warmup, persist = GATES[self.preset]
        return (
            warmup if self.warmup is None else self.warmup,
            persist if self.persist is None else self.persist,
        )


DEFAULT_RULES: Final = Rules()

GATES: Final = {Preset.DEFAULT: (0, 1), Preset.SCALE_FREE: (20, 2)}
"""Each preset's (warm-up, persistence) in updates, unless --warmup/--persist say otherwise.

The default preset keeps the seed's behaviour: every frame may fire. Under scale-free
the warm-up lasts until the critic has been ok for 2 updates in a row, at most 20
updates (a critic starts at zero and may need that long to reach returns of -100
unnormalised), and a level must hold for 2 updates (one noisy rollout does not fail a
run): the score's choice, docs/verdicts.md."""
WRITER_PRESET: Final = "written by"
"""How preset_from starts when a run's first record chose the preset."""


def rules_for(preset: Preset) -> Rules:
    """The default Rules of a preset (its warm-up and persistence are GATES')."""
    return Rules(preset=preset)


SCALE_FREE_INFO: Final = frozenset(
    m.name for m in REGISTRY if m.scale_free in (ScaleFree.INFO, ScaleFree.RATIO)
)
"""Metrics whose default thresholds the scale-free preset does not use unless the config
sets them: information (the return distribution's shape), or judged by a ratio."""
SHAPE: Final = tuple(m.name for m in REGISTRY if m.scale_free is ScaleFree.INFO)
"""Metrics the scale-free preset shows as information unless the config sets them."""

REASONS: Final[dict[tuple[str, str], str]] = {
    ("explained_variance", "warning"): "the critic explains under a third of the return variance",
    ("explained_variance", "critical"): "predicting the mean return would do as well or better",
    ("v_return_correlation", "critical"): "scale-free: a warning (down arrow); V-Fit is critical",
    ("td_bias", "warning"): "|mean(g - v)| / D: V's bias is half the returns' scale D",
    ("td_bias", "critical"): "V's bias is as wide as the returns' scale D: advantages are shifted",
    ("bellman_ratio", "warning"): "bellman_error / D^2: RMS TD error half the returns' scale",
    ("bellman_ratio", "critical"): "RMS TD error as wide as the returns: V is no guide to them",
    ("low_return_variance", "floor"): "default preset: flatter returns make EV noise: info",
    ("value_fit", "warning"): "V predicts under a third of the returns (bias included)",
    ("value_fit", "critical"): "a constant at the returns' mean would do as well or better",
    ("value_fit", "tolerance"): "D is at least this share of |mean return|: flatter is 'low'",
    ("bootstrap", "significance"): "TD errors lean one way: |TD mean| this share of TD Std",
    ("bootstrap", "z"): "with samples: |TD mean| this many TD Std / sqrt(samples) instead",
    ("bootstrap", "carried"): "advantages carrying under this share of a leaning TD mean: critical",
    ("value_bound", "mean"): "V's mean (RMS once replaced) this many widths out of bound: critical",
    ("critic_change", "frozen"): "the critic's weights moved at most this share: a warning",
    ("critic_change", "replaced"): "moved more than this share: replaced; fires at once",
    ("value_span", "constant"): "V's span at most this share of D, returns varying: critical",
}
"""Why each scale-free level stands where it does (printed by `value-diag thresholds`)."""


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
_MILD: Final = frozenset({Level.NO_DATA, Level.INFO, Level.OK})
"""Levels a warning raises."""


CORR_SLACK: Final = 1e-9
"""How far past -1 or 1 a correlation may lie and still be rounding (a writer that does not
clamp, as compute_value_metrics does); further out it is impossible."""
IMPOSSIBLE: Final[dict[str, str]] = {
    "v_return_correlation": "impossible: a correlation lies between -1 and 1",
    "td_error_std": "impossible: a standard deviation is never negative",
    "bellman_error": "impossible: a mean squared (or absolute) TD error is never negative",
    "return_variance": "impossible: a variance is never negative",
}
"""Why a value no rollout can give is critical, by metric (the mark's note): its writer
computed it wrongly, so it says nothing good about the critic. Past -1 or 1 for the
correlation (CORR_SLACK), negative for the others."""
_BEYOND_ONE: Final = Mark(Level.CRITICAL, Icon.DOWN, IMPOSSIBLE["v_return_correlation"])


def impossible(name: str, x: float) -> Mark | None:
    """The critical mark, saying why, of a value ``name`` can never take; None for one it
    can (and for NaN and infinities, which their own rules judge)."""
    if name not in IMPOSSIBLE or not math.isfinite(x):
        return None
    if name == "v_return_correlation":
        return _BEYOND_ONE if abs(x) > 1 + CORR_SLACK else None
    return Mark(Level.CRITICAL, note=IMPOSSIBLE[name]) if x < 0 else None


def correlation(x: float, t: Thresholds = DEFAULT_THRESHOLDS, warning: float | None = None) -> Mark:
    """V-Return correlation: the spec's four grades, each with its icon; critical past -1
    or 1 (``impossible``). ``warning`` moves the line below which it warns (default:
    ``t.corr_warning``; the CRITIC CALIBRATION block's is ``t.calib_corr_warning``)."""
    if not math.isfinite(x):
        return Mark(Level.CRITICAL, Icon.DOWN)
    beyond = impossible("v_return_correlation", x)
    if beyond is not None:
        return beyond
    if x >= t.corr_excellent:
        return Mark(Level.OK, Icon.UP)
    if x >= (t.corr_warning if warning is None else warning):
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
    """Squared Bellman error: spikes often precede NaN losses; negative is impossible."""
    return impossible("bellman_error", x) or _banded(x, t.bellman_warning, t.bellman_critical)


def td_error_std(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """TD errors' spread: informational; negative is impossible."""
    return impossible("td_error_std", x) or informational(x, t)


def return_skewness(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Asymmetry of the return distribution: |skew|."""
    return _banded(abs(x), t.skew_warning, t.skew_critical)


def return_variance(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """Variance of returns; negative is impossible and so critical."""
    if not math.isfinite(x):
        return _CRITICAL
    if x < 0:
        return impossible("return_variance", x) or _CRITICAL
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


def compile_status(enabled: bool, rules: Rules = DEFAULT_RULES) -> Mark:
    """Eager mode costs 3-5x in speed: a warning, unless the config says it is expected."""
    if enabled:
        return Mark(Level.OK, Icon.CHECK)
    return Mark(rules.eager)


def explained_variance(x: float, t: Thresholds = DEFAULT_THRESHOLDS) -> Mark:
    """EV = 1 - Var(g - v) / Var(g): at or below 0 the critic is no better than the mean."""
    if not math.isfinite(x) or x <= t.ev_critical:
        return _CRITICAL
    return _WARNING if x < t.ev_warning else _OK


def low_return_variance(variance: float, t: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """Whether the returns vary too little for EV to mean anything (the default preset)."""
    return 0 <= variance < t.variance_floor


class Scale:
    """The returns' own scale, which the scale-free rules measure everything against.

    ``d2`` is D^2 = max(Var(g), (tolerance * size)^2), ``size`` |mean g| (|p50| when the
    file gives no return_mean), ``low`` whether the spread is under ``tolerance`` of the
    size (correlation and explained variance are then noise, and V is judged by how close
    it comes to the returns against their size). A plain class: made for every frame
    judged, and defined at every start-up, where a dataclass costs a millisecond.
    """

    __slots__ = ("d2", "low")

    def __init__(self, d2: float, low: bool) -> None:
        self.d2 = d2
        self.low = low

    @classmethod
    def of(cls, variance: float, size: float, t: Thresholds) -> Scale:
        floor = t.fit_tolerance * size * t.fit_tolerance * size  # inf, never OverflowError
        if math.isnan(variance):
            return cls(math.nan, False)
        return cls(max(variance, floor), 0 <= variance < floor)

    @property
    def usable(self) -> bool:
        """Whether D is a finite, positive number to divide by."""
        return math.isfinite(self.d2) and self.d2 > 0


def _ratio_mark(x: float, scale: Scale, warning: float, critical: float, note: str | None) -> Mark:
    """A positive quantity over D (or D^2): alarms at or above its thresholds."""
    if not math.isfinite(x):
        return _CRITICAL
    if not scale.usable:
        return Mark(Level.INFO, note=NO_SCALE)
    mark = _banded(x, warning, critical)
    return mark if note is None else replace(mark, note=note)


def td_bias(
    bias: float, scale: Scale, t: Thresholds = DEFAULT_THRESHOLDS, note: str | None = None
) -> Mark:
    """Scale-free TD Mean: |mean(g - v)| / D, the bias the advantages carry."""
    x = td_bias_of(bias, scale)
    return _ratio_mark(x, scale, t.td_bias_warning, t.td_bias_critical, note)


def td_bias_of(bias: float, scale: Scale) -> float:
    """|bias| / D, the quantity td_bias judges (|bias| itself while D is unknown)."""
    return abs(bias) / math.sqrt(scale.d2) if scale.usable else abs(bias)


def bootstrap_agrees(
    td_mean: float, td_std: float, bias: float, t: Thresholds, samples: float | None = None
) -> bool:
    """Whether returns g and TD errors delta can come from one bootstrap of the same V.

    Any return a critic is trained on that bootstraps from V (n-step, lambda-returns, GAE,
    Monte Carlo) makes g_t - v_t a sum of the TD errors from t on, with positive weights,
    the weight of delta_t itself 1: (gamma lambda)^k for GAE, 1 up to n for n-step returns.
    So when the TD errors lean one way, mean(g - v) leans the same way and is at least about
    their mean: 1 to 1 / (1 - gamma lambda) times it (PPO's defaults up to 17, A2C's 5-step
    returns up to 5). Returns made with another gamma, or another bootstrap at episode ends,
    than the TD errors break that: the advantages no longer carry the bias the TD errors
    show. The check is scale-free (two ratios of the same units); TD errors that do not lean
    pass, as there is then no bias to carry.

    They lean when their mean lies further from 0 than chance puts it. Were V the value of
    the policy, each TD error would have mean 0 given its state and be uncorrelated with
    the others (a martingale difference), so the mean of ``samples`` of them strays from 0
    by about TD Std / sqrt(samples): a lean is a mean at least ``bootstrap_z`` of those
    standard errors from 0. On the corpus of real runs the healthy updates whose TD errors
    lean so carried 2.1 to hundreds of times their mean, and the runs whose returns were
    made with another gamma carried less than half of it, or its opposite, from a lean of
    0.15 of TD Std. A line that does not say how many samples it describes leans when its
    mean is at least ``bootstrap_significance`` of TD Std.
    """
    lean = abs(td_mean)
    if samples is not None and samples > 1:
        real = lean >= t.bootstrap_z * td_std / math.sqrt(samples)
    else:
        real = lean >= t.bootstrap_significance * td_std
    if not lean or not real:
        return True
    carried = bias if td_mean > 0 else -bias  # mean(g - v) in the TD mean's direction
    return carried >= t.bootstrap_carried * lean


def beyond_bound(v_mean: float, v_std: float, low: float, high: float) -> float | None:
    """How far V's values lie outside the value bound [low, high] at least, in widths of the
    bound (0 when they may all lie within it); None when it cannot be told (a bound of no
    width, a number not finite).

    No value of any policy lies outside the bound (``ValueBound``: the rewards' range over
    1 - gamma). Values all within a distance r of the bound's centre have a root mean
    square distance from it, sqrt((mean - centre)^2 + std^2), of at most r: so the amount
    by which that distance exceeds the bound's half-width is how far outside it some
    values must lie, whatever their distribution. With ``v_std`` 0 it is how far V's mean
    lies outside.

    The rules give the spread only once the run's critic was replaced (``replaced``). A
    healthy critic's values may stray past the bound as a whole where its output noise
    does not shrink with the rewards: at rewards x0.001 a healthy A2C critic on CartPole
    spread 1.3 widths, its returns echoing it, as blown-up ones do (A2C on Acrobot: 1.8 to
    5.6 widths to its end). Its mean stays within, and stays within unless V as a whole
    has left what the rewards allow: a blown-up or randomised head, or a critic settled on
    an impossible constant, whose bootstrapped returns echo it. On the corpus of real runs
    healthy means strayed at most 0.1 of the width after the first update, but for A2C
    critics that left the bound with no fault injected (docs/verdicts.md); the broken
    critics its mean catches lay 0.26 to 4,400 widths out. Scale-free: all four numbers
    scale with the rewards.
    """
    width = high - low
    centre = low + width / 2
    if not (math.isfinite(v_mean) and math.isfinite(v_std) and math.isfinite(width)):
        return None
    if width <= 0:
        return None
    return max(math.hypot(v_mean - centre, v_std) - width / 2, 0.0) / width


def constant_value(span: float, variance: float, scale: Scale, t: Thresholds) -> bool:
    """Whether V is one number for every state of a rollout whose returns differ: its span
    (value_max - value_min) at most ``constant_span`` of the returns' scale D (0: exactly
    one number), and the returns' variance above 0.

    A network that is a function of the state gives different states different values,
    however close: on the corpus of real runs no healthy critic's spread fell below 2e-5 of
    its mean. One that gives every state of a rollout the same number has stopped reading
    the state: tanh units saturated (a blown-up learning rate), or ReLU units all dead. Its
    gradient with respect to its hidden weights is then nothing, so it does not come back,
    and its bootstrapped returns echo the constant, which can keep V-Fit and the bias near
    ok while the returns hardly vary. Scale-free: span and D scale alike. An environment
    whose every state looks the same (a bandit) has a constant critic by design: judge such
    a run with ``--preset default``.
    """
    if not (math.isfinite(span) and math.isfinite(variance)) or variance <= 0:
        return False
    return scale.usable and span <= t.constant_span * math.sqrt(scale.d2)


def replaced(change: float, t: Thresholds) -> bool:
    """Whether the critic's weights moved more than ``replaced_change`` of their own size
    (1: more than their whole size) since the line before: not a training step, but weights
    put in its place (re-initialised, a checkpoint loaded into it) or a step blown up.

    Adam and RMSprop move each weight by about the learning rate per step, so a trained
    critic's weights move by a small share of their size between two lines: at most 0.67 on
    the corpus of real runs and its probes (SB3's PPO at ten times its default learning
    rate, at its second update), 0.25 after the fifth (A2C at four times its own). The
    critics a blown-up learning rate or new random weights hit moved 7.0 to 659 times their
    size at that update. The move is measured on the weights themselves, not estimated from
    a rollout, so no waiting makes it a truer reading: the gate fires on it at once (after
    the warm-up, where a small initialisation may still move far). Scale-free: a ratio of
    weights to weights.
    """
    return math.isfinite(change) and change > t.replaced_change


def fit_reason(mark: Mark) -> str:
    """Why V-Fit stands at its level: V beyond what the rewards allow, when that is why,
    else its level's reason."""
    notes = (BEYOND_BOUND, CONSTANT_VALUE, CRITIC_FROZEN, CRITIC_REPLACED, CRITIC_UNTRAINED)
    if mark.note in notes:
        return mark.note
    return REASONS[(FIT, mark.level.value)]


def bellman_ratio(
    bellman: float, scale: Scale, t: Thresholds = DEFAULT_THRESHOLDS, mean_abs: bool = False
) -> Mark:
    """Scale-free Bellman: E[delta^2] / D^2; esper-lite's E|delta| is squared first."""
    x = bellman_ratio_of(bellman, scale, mean_abs)
    return _ratio_mark(x, scale, t.bellman_ratio_warning, t.bellman_ratio_critical, None)


def bellman_ratio_of(bellman: float, scale: Scale, mean_abs: bool = False) -> float:
    """E[delta^2] / D^2, the quantity bellman_ratio judges (E[delta^2] while D is unknown)."""
    squared = bellman * bellman if mean_abs else bellman
    return squared / scale.d2 if scale.usable else squared


def value_fit_of(
    ev: float | None,
    variance: float,
    bias: float | None,
    value_std: float | None,
    scale: Scale,
) -> float | None:
    """V-Fit = 1 - E[(g - v)^2] / D^2, with E[(g - v)^2] = (1 - EV) Var(g) + bias^2.

    Returns None when it cannot be told: no explained variance, or EV undefined (the
    returns do not vary) and no spread of V to stand for Var(g - v). A NaN input gives NaN.
    """
    if ev is None or not scale.usable:
        return None
    if math.isnan(ev) and math.isfinite(variance) and scale.low:
        if value_std is None:
            return None
        spread = value_std * value_std  # g constant: Var(g - v) = Var(v)
    else:
        spread = (1.0 - ev) * variance
    b2 = 0.0 if bias is None else bias * bias
    return 1.0 - (spread + b2) / scale.d2


def value_fit(x: float | None, t: Thresholds = DEFAULT_THRESHOLDS, note: str | None = None) -> Mark:
    """V-Fit: at or below ``fit_critical`` critical (a constant at the mean would do as
    well), below ``fit_warning`` warning."""
    if x is None:
        return Mark(Level.NO_DATA, note=note)
    if not math.isfinite(x) or x <= t.fit_critical:
        mark = _CRITICAL
    else:
        mark = _WARNING if x < t.fit_warning else _OK
    return mark if note is None else replace(mark, note=note)


JUDGE: Final[dict[Rule, Callable[[float, Thresholds], Mark]]] = {
    Rule.CORRELATION: correlation,
    Rule.TD_MEAN: td_error_mean,
    Rule.TD_STD: td_error_std,
    Rule.BELLMAN: bellman_error,
    Rule.PERCENTILE: return_percentile,
    Rule.VARIANCE: return_variance,
    Rule.SKEWNESS: return_skewness,
    Rule.SPREAD: return_spread,
}
"""The function of each rule a metric of the registry may name."""
RULES: Final = {m.name: JUDGE[m.rule] for m in REGISTRY if m.rule is not None}
"""The rule of each metric judged by one (the nine and the return spread), from the registry."""


@dataclass(frozen=True, slots=True)
class Health:
    """The marks of one frame and its overall status.

    ``values`` holds the nine metrics, ``return_spread``, the critic's five,
    ``value_span`` and ``value_fit`` (when it can be told), and under the scale-free
    preset ``td_bias`` and ``bellman_ratio`` (when D is known); ``marks`` the ten of the
    five-line panel and ``compile``; ``critic`` the CRITIC CALIBRATION block's own: the
    critic's five, ``value_span``, ``calib_corr``, ``value_fit`` and ``calib``. The
    status counts ``critic`` when the thresholds say so (``--critic``), and V-Fit always
    under the scale-free preset.
    ``stale`` is the age of the last record (s) of a run judged stale (AGE_UNKNOWN when
    its file time is ahead of the clock), else None;
    ``preset`` the rules that judged it.
    """

    status: Status
    values: Mapping[str, float] = field(default_factory=dict)
    marks: Mapping[str, Mark] = field(default_factory=dict)
    critic: Mapping[str, Mark] = field(default_factory=dict)
    stale: float | None = None
    preset: Preset = Preset.DEFAULT

    def mark(self, name: str) -> Mark:
        """The mark of any metric, of the panel or of the critic block."""
        return self.marks.get(name) or self.critic.get(name) or NOT_REPORTED


class Fit:
    """What the rules read beyond the spec's snapshot (a plain class, as Scale).

    ``return_mean`` is the mean of the returns (None: the file gives none);
    ``mean_abs_td`` says the file's bellman_error is mean |TD error| (esper-lite's), not
    mean squared; ``bound`` is the range the run's rewards allow any value in, and
    ``critic_change`` how far the critic's weights moved since the line before, and
    ``samples`` how many transitions the line describes (None: the file gives none);
    ``moved`` the furthest the critic's weights moved between two lines of the run (the
    largest ``critic_change``; None: not known).
    """

    __slots__ = ("bound", "critic_change", "mean_abs_td", "moved", "return_mean", "samples")

    def __init__(
        self,
        return_mean: float | None = None,
        mean_abs_td: bool = False,
        bound: tuple[float, float] | None = None,
        critic_change: float | None = None,
        samples: float | None = None,
        moved: float | None = None,
    ) -> None:
        self.return_mean = return_mean
        self.mean_abs_td = mean_abs_td
        self.bound = bound
        self.critic_change = critic_change
        self.samples = samples
        self.moved = moved


NO_FIT: Final = Fit()


STALE_WARNING_S: Final = 60.0
"""Seconds without a record after which the age of the last update turns yellow."""
STALE_CRITICAL_S: Final = 300.0
"""Seconds without a record after which it turns red: the run may be hung. (Only --max-age
makes a run stale, and critical; these colour the age.)"""


def age_level(seconds: float) -> Level:
    """How worrying an age without records looks: a warning after a minute, critical after
    five (the colour of the age; the status is --max-age's, ``is_stale``)."""
    if seconds >= STALE_CRITICAL_S:
        return Level.CRITICAL
    if seconds >= STALE_WARNING_S:
        return Level.WARNING
    return Level.OK


FUTURE_TOLERANCE_S: Final = 5.0
"""How far ahead of this machine's clock a file's time may lie and still be the moment it
was written (two clocks a little apart, a coarse file system); further ahead (skew on NFS or
an object store), the run's age cannot be known."""
AGE_UNKNOWN: Final = math.inf
"""The age of a run whose last record is dated further ahead of the clock than
FUTURE_TOLERANCE_S: unknown, and so, to --max-age, older than any limit. The gate fails
closed: such a run is stale, never fresh for ever."""


def age_of(last: float | None, now: float | None) -> float | None:
    """Seconds from a run's last record at ``last`` to ``now`` (None: either unknown);
    AGE_UNKNOWN when ``last`` lies more than FUTURE_TOLERANCE_S after ``now``, 0 when
    less (clocks a little apart)."""
    if last is None or now is None:
        return None
    if last - now > FUTURE_TOLERANCE_S:
        return AGE_UNKNOWN
    return max(0.0, now - last)


def is_stale(age: float | None, rules: Rules = DEFAULT_RULES) -> bool:
    """Whether a run whose last record is ``age`` seconds old (None: no record) is stale:
    older than --max-age, or of an age that cannot be known (AGE_UNKNOWN)."""
    max_age = rules.max_age
    return max_age is not None and age is not None and age > max_age


def assess(
    snapshot: SanctumSnapshot | None,
    unreported: frozenset[str] = frozenset(),
    t: Rules = DEFAULT_RULES,
    age: float | None = None,
    fit: Fit = NO_FIT,
) -> Health:
    """Marks every metric of a snapshot; parts named in ``unreported`` are not judged.

    ``unreported`` holds part names (VALUE_PART, INFRA_PART) and the names of the
    critic's fields a file has not given. ``age`` is how old the last record is (s):
    past the rules' ``max_age`` the run is stale, and critical whatever its metrics.
    ``fit`` is what the scale-free rules read beyond the snapshot.
    """
    health = _assess(snapshot, unreported, t, fit)
    if snapshot is None or not is_stale(age, t):
        return health
    return replace(health, status=Status.CRITICAL, stale=age)


def _assess(
    snapshot: SanctumSnapshot | None, unreported: frozenset[str], r: Rules, fit: Fit
) -> Health:
    if snapshot is None:
        return Health(Status.NO_DATA)
    tamiyo = snapshot.tamiyo
    vf = tamiyo.value_function
    values = {name: float(getattr(vf, name)) for name in VALUE_FIELDS}
    missing = unreported.intersection(VALUE_FIELDS)
    for name in missing:  # judged as nothing (NaN makes the scale unknown), then dropped
        values[name] = math.nan
    values[SPREAD] = values["return_p90"] - values["return_p10"]
    values.update((name, float(getattr(tamiyo, name))) for name in CRITIC_FIELDS)
    values[SPAN] = values["value_max"] - values["value_min"]
    reported = VALUE_PART not in unreported
    scale_free = r.preset is Preset.SCALE_FREE
    size = values["return_p50"] if fit.return_mean is None else fit.return_mean
    scale = Scale.of(values["return_variance"], abs(size), r)
    if scale_free:
        low = reported and scale.low
    else:
        low = reported and low_return_variance(values["return_variance"], r)
    marks: dict[str, Mark] = {}
    fit_mark = NOT_REPORTED
    if reported:
        value_marks, fit_mark = _value_marks(values, low, scale, fit, unreported, r)
        marks.update(value_marks)
        _not_reported(marks, missing)
    else:
        marks.update((name, NOT_REPORTED) for name in (*VALUE_FIELDS, SPREAD))
    if INFRA_PART in unreported:
        marks[COMPILE] = NOT_REPORTED
    else:
        marks[COMPILE] = compile_status(tamiyo.infrastructure.compile_enabled, r)
    critic = _critic_marks(values, marks, fit_mark, unreported, low, r)
    for name in missing | ({SPREAD} if missing & {"return_p10", "return_p90"} else set()):
        del values[name]
    judged = [m for name, m in marks.items() if name != COMPILE]
    judged += critic.values() if r.critic else ()
    if scale_free and not r.critic:
        judged.append(fit_mark)  # the scale-free verdict on the critic counts always
    worst = max(_RANK[m.level] for m in (*judged, marks[COMPILE]))
    if not worst and not any(m.level in JUDGED for m in judged):
        # nothing of the value function was judged: no data, never "ok" on the compile alone
        return Health(Status.NO_DATA, values, marks, critic, preset=r.preset)
    return Health(BY_RANK[worst], values, marks, critic, preset=r.preset)


def _value_marks(
    values: dict[str, float],
    low: bool,
    scale: Scale,
    fit: Fit,
    unreported: frozenset[str],
    t: Rules,
) -> tuple[dict[str, Mark], Mark]:
    """The marks of the value metrics, and V-Fit's, by the preset's rules. V-Fit's value
    is put in ``values`` when it can be told.
    """
    # every metric with a rule that the snapshot gives (one it lacks is not reported)
    marks = {name: rule(values[name], t) for name, rule in RULES.items() if name in values}
    v_mean = None if "value_mean" in unreported else values["value_mean"]
    bias = None if fit.return_mean is None or v_mean is None else fit.return_mean - v_mean
    ev = None if "explained_variance" in unreported else values["explained_variance"]
    v_std = None if "value_std" in unreported else values["value_std"]
    x = value_fit_of(ev, values["return_variance"], bias, v_std, scale)
    if x is not None:
        values[FIT] = x
    if t.preset is not Preset.SCALE_FREE:
        return marks, NOT_REPORTED if x is None else _INFO
    note = NO_EV if ev is None else NO_VARIANCE if "return_variance" in unreported else None
    if note is None and bias is None:
        note = NO_RETURN_MEAN
    fit_mark = value_fit(x, t, note)
    if fit.bound is not None and v_mean is not None:
        # V's spread counts once the run's critic was replaced: at small reward scales a
        # healthy critic's output noise alone spreads it past the bound (beyond_bound)
        was_replaced = fit.moved is not None and replaced(fit.moved, t)
        spread = v_std if was_replaced and v_std is not None else 0.0
        beyond = beyond_bound(v_mean, spread, *fit.bound)
        if beyond is not None and beyond > t.bound_mean:
            fit_mark = Mark(Level.CRITICAL, note=BEYOND_BOUND)
    span_known = not unreported & {"value_min", "value_max"}  # an unreported variance is NaN
    dead = span_known and constant_value(values[SPAN], values["return_variance"], scale, t)
    if dead and fit_mark.note != BEYOND_BOUND:
        fit_mark = Mark(Level.CRITICAL, note=CONSTANT_VALUE)
    change = fit.critic_change
    if change is not None and change <= t.frozen_change:
        never = fit.moved is not None and not fit.moved > 0.0  # no line said it moved
        if never and fit_mark.level is not Level.CRITICAL:
            fit_mark = Mark(Level.CRITICAL, note=CRITIC_UNTRAINED)
        elif fit_mark.level in _MILD:
            fit_mark = Mark(Level.WARNING, note=CRITIC_FROZEN)
    if change is not None and replaced(change, t):  # the cause of whatever else V-Fit says
        fit_mark = Mark(Level.CRITICAL, note=CRITIC_REPLACED)
    td = values["td_error_mean"] if bias is None else bias
    if scale.usable and (bias is not None or "td_error_mean" not in unreported):
        values[TD_BIAS] = td_bias_of(td, scale)  # what is judged, for the report's charts
    if scale.usable and "bellman_error" not in unreported:
        values[BELLMAN_RATIO] = bellman_ratio_of(values["bellman_error"], scale, fit.mean_abs_td)
    own = t.explicit  # what the config set keeps its own thresholds
    if "td_error_mean" not in own:  # judged by its ratio, TD_BIAS
        if bias is None:
            marks["td_error_mean"] = td_bias(values["td_error_mean"], scale, t, ONE_STEP_TD)
        else:
            marks["td_error_mean"] = td_bias(bias, scale, t)
    if bias is not None and not unreported & {"td_error_mean", "td_error_std"}:
        td_mean, td_std = values["td_error_mean"], values["td_error_std"]
        known = math.isfinite(td_mean) and math.isfinite(td_std) and math.isfinite(bias)
        if known and not bootstrap_agrees(td_mean, td_std, bias, t, fit.samples):
            marks["td_error_mean"] = Mark(Level.CRITICAL, note=BOOTSTRAP_DISAGREES)
    if "bellman_error" not in own:  # judged by its ratio, BELLMAN_RATIO
        marks["bellman_error"] = bellman_ratio(values["bellman_error"], scale, t, fit.mean_abs_td)
    for name in SHAPE:
        if name not in own:
            marks[name] = _shape(name, values[name])
    corr = values["v_return_correlation"]
    if "v_return_correlation" not in own and math.isfinite(corr):
        if low:
            marks["v_return_correlation"] = _UNRELIABLE
        elif marks["v_return_correlation"].level is Level.CRITICAL:
            # a poor correlation is V-Fit's to call critical: it also weighs V's scale
            marks["v_return_correlation"] = replace(_WARNING, icon=Icon.DOWN)
    for name in IMPOSSIBLE:  # whatever a ratio or the spread made of them
        marks[name] = impossible(name, values[name]) or marks[name]
    return marks, fit_mark


def _not_reported(marks: dict[str, Mark], missing: frozenset[str]) -> None:
    """Marks the metrics the run has not reported as such, and what they were needed for."""
    if not missing:
        return
    for name in missing:
        marks[name] = NOT_REPORTED
    if missing & {"return_p10", "return_p90"}:
        marks[SPREAD] = NOT_REPORTED
    if "return_variance" in missing:
        for name, mark in marks.items():
            if mark.note == NO_SCALE:
                marks[name] = replace(mark, note=NO_VARIANCE)


def _shape(name: str, x: float) -> Mark:
    """The return distribution's shape under scale-free: information, unless impossible
    (non-finite, or a negative variance)."""
    if not math.isfinite(x) or (name == "return_variance" and x < 0):
        return _CRITICAL
    return _INFO


def _critic_marks(
    values: dict[str, float],
    marks: Mapping[str, Mark],
    fit: Mark,
    unreported: frozenset[str],
    low: bool,
    t: Rules,
) -> dict[str, Mark]:
    """The CRITIC CALIBRATION block's marks: V-Corr at esper's line, EV judged, the value
    statistics shown, and Calib."""
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
    corr = marks["v_return_correlation"]
    if corr.level in (Level.OK, Level.WARNING, Level.CRITICAL):
        corr = correlation(values["v_return_correlation"], t, t.calib_corr_warning)
    out[CALIB_CORR] = corr
    if "v_return_correlation" not in unreported:
        values[CALIB_CORR] = values["v_return_correlation"]
    out[FIT] = fit
    parts = [corr, out["explained_variance"]]
    parts += [marks["td_error_mean"], marks["bellman_error"]]
    if t.preset is Preset.SCALE_FREE:
        parts.append(fit)
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
    return STATUS_RANK[status] >= STATUS_RANK[threshold]
