"""The value-function metrics of one rollout: values, returns and TD errors in, numbers out."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from value_diag.schema import BOUND_FIELDS as BOUND_FIELDS  # re-exported: written when known
from value_diag.schema import CHANGE_FIELDS as CHANGE_FIELDS  # re-exported: written when known
from value_diag.schema import CRITIC_FIELDS as CRITIC_FIELDS  # re-exported: written after the nine
from value_diag.schema import FIT_FIELDS as FIT_FIELDS  # re-exported: written after the critic's
from value_diag.schema import ValueFunctionMetrics

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

PERCENTILES: Final = (10.0, 50.0, 90.0)
"""The return percentiles reported as return_p10, return_p50 and return_p90."""
NEAR_ZERO: Final = 1e-12
"""A standard deviation at most this fraction of the largest magnitude counts as zero.

Relative, so that a constant series of any scale (whose computed deviations are rounding
noise, about 1e-16 of its size) has no correlation and no skew, while a genuinely small
spread of small numbers still has both.
"""
SAFE_MIN: Final = 2.0**-250
SAFE_MAX: Final = 2.0**250
"""Magnitudes whose cubes stay far inside the float range: such series are not rescaled."""
MIN_EXPONENT: Final = -1000
"""Series smaller than 2**-1000 are scaled up by at most 2**1000 (which is finite)."""
_NUMERIC_KINDS: Final = "fiu"
"""numpy dtype kinds taken as they are: float, signed and unsigned integers."""


@dataclass
class RolloutMetrics(ValueFunctionMetrics):
    """The spec's nine metrics of a rollout, five more about the critic's outputs, and the
    FIT_FIELDS the verdict rules need."""

    explained_variance: float = 0.0
    """1 - Var(returns - values) / Var(returns), population variances; NaN if Var(returns) is 0."""
    value_mean: float = 0.0
    value_std: float = 0.0
    """Population standard deviation (ddof=0) of the values."""
    value_min: float = 0.0
    value_max: float = 0.0
    return_mean: float = 0.0
    """Population mean of the returns (the value targets)."""
    value_bound_low: float | None = None
    value_bound_high: float | None = None
    """The range any value of any policy lies in, given the run's rewards so far and its
    discount (``ValueBound``); None when not given to ``compute_value_metrics``."""
    critic_change: float | None = None
    """How far the critic's weights moved since the previous line (``CriticChange``); None
    when not given to ``compute_value_metrics``."""
    samples: int | None = None
    """How many transitions the metrics describe (SAMPLE_FIELDS)."""


def compute_value_metrics(
    values: Any,
    returns: Any,
    td_errors: Any,
    *,
    use_numpy: bool | None = None,
    bound: tuple[float, float] | None = None,
    critic_change: float | None = None,
) -> RolloutMetrics:
    """The value-function metrics of one rollout.

    Args:
        values: V(s) predicted for each step.
        returns: the return (target) of each step.
        td_errors: r + gamma * V(s') - V(s) of each step.
        use_numpy: None uses numpy when it can be imported; False always uses pure
            Python; True requires numpy. Both give the same numbers.
        bound: the range any value of these rewards lies in (``ValueBound.range``),
            written as value_bound_low and value_bound_high; None writes neither.
        critic_change: how far the critic's weights moved since the previous line
            (``CriticChange.measure``), written as critic_change; None writes nothing.

    Each input is a list, a numpy array, a torch tensor (any device) or any iterable of
    numbers, in step order; arrays and nested lists of several dimensions are flattened,
    nested lists only when every row has the same length. The three must hold the same
    number of items. Refused, since each would pair numbers wrongly or use numbers that
    are not there: a mapping (a dict) or a set, ragged nested lists, and masked arrays
    (numpy.ma, torch's MaskedTensor), whose masked items would be used.

    Returns:
        v_return_correlation: Pearson correlation of values and returns (population
            moments), clamped to [-1, 1]; 0.0 when either has (near-)zero variance.
        td_error_mean, td_error_std: population mean and standard deviation.
        bellman_error: mean squared TD error.
        return_p10/p50/p90: percentiles with linear interpolation (numpy's default).
        return_variance: population variance; return_skewness: Fisher-Pearson g1,
            E[(x - mean)^3] / std^3, 0.0 when std is (near-)zero.
        explained_variance: 1 - Var(returns - values) / Var(returns) with population
            variances (ddof=0, as numpy's var and Stable-Baselines3's explained_variance);
            NaN when Var(returns) is (near-)zero, by the correlation's cut-off.
        value_mean, value_std, value_min, value_max: of the values (std with ddof=0).
        return_mean: the mean of the returns.
        samples: how many steps the three hold.
        Empty inputs give all zeros. A NaN in an input makes the metrics that use it NaN.

    Raises:
        ValueError: the lengths differ, an input is a mapping, a set, ragged or masked, or
            an item is not a number (named by position).
        ImportError: use_numpy is True and numpy is not installed.
    """
    for x, n in _named(values, returns, td_errors):
        _check_kind(x, n)
    np_mod = _numpy() if use_numpy is not False else None
    if use_numpy and np_mod is None:
        raise ImportError("use_numpy=True needs numpy, which is not installed")
    if np_mod is not None:
        v, r, d = (_array(np_mod, x, n) for x, n in _named(values, returns, td_errors))
        _same_length(len(v), len(r), len(d))
        metrics = _metrics_numpy(np_mod, v, r, d)
    else:
        fv, fr, fd = (floats(x, n) for x, n in _named(values, returns, td_errors))
        _same_length(len(fv), len(fr), len(fd))
        metrics = _metrics_python(fv, fr, fd)
    if bound is not None:
        metrics.value_bound_low, metrics.value_bound_high = (float(x) for x in bound)
    if critic_change is not None:
        metrics.critic_change = float(critic_change)
    metrics.samples = len(v) if np_mod is not None else len(fv)
    return metrics


class CriticChange:
    """How far a critic's own weights moved between two lines of a run.

    ``change = CriticChange()``; at each line, ``change.measure(critic.parameters())``
    (the weights only the value function uses: its head and its own layers), passed as
    ``compute_value_metrics(..., critic_change=...)``. It is ||w - w_prev|| / ||w_prev||
    over all of them: 0 when the critic did not move, as when it is left out of the
    optimizer, its ``requires_grad`` is off, or its loss has no weight. The first measure
    has nothing to compare with and gives None. Parameters are tensors (any device) or
    arrays; numpy is needed.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: Any = None

    def measure(self, parameters: Iterable[Any]) -> float | None:
        """The relative change since the previous measure (None the first time, or when the
        parameters' count changed or were all zero)."""
        np = _numpy()
        if np is None:
            raise ImportError("CriticChange needs numpy, which is not installed")
        parts = [np.asarray(_host(p), dtype=np.float64).ravel() for p in parameters]
        now = np.concatenate(parts) if parts else np.zeros(0)
        last, self._last = self._last, now
        if last is None or last.shape != now.shape:
            return None
        size = float(np.linalg.norm(last))
        if not size:
            return None
        return float(np.linalg.norm(now - last)) / size


def _host(x: Any) -> Any:
    """A tensor's numbers on the CPU, detached (an array as it is)."""
    detach = getattr(x, "detach", None)
    return x if detach is None else detach().cpu().numpy()


class ValueBound:
    """The range every value of every policy lies in, given the rewards a run has had.

    A value is a discounted sum of rewards, and an episode may end at any step (its
    future then adds 0), so with rewards in [r_min, r_max] and discount gamma < 1 every
    V(s) lies in [min(0, r_min), max(0, r_max)] / (1 - gamma). A critic that predicts far
    outside it is not predicting a value of these rewards (a blown-up or randomised head,
    whose bootstrapped returns may follow it). The range is the run's so far: a value learnt
    from a rare reward stays within it after rollouts without one.

    ``bound = ValueBound(gamma)``; ``bound.see(rewards)`` with each step's or rollout's
    rewards, as the agent learns from them (before a time-limit bootstrap is added to them);
    then ``compute_value_metrics(..., bound=bound.range)``. Non-finite rewards are not
    counted.

    An agent that learns from normalised rewards (r / scale, clipped, with a scale that
    follows the returns: VecNormalize, gymnasium's NormalizeReward) has a critic in the
    normaliser's current units. Give ``see`` the raw rewards and pass
    ``bound=bound.range_at(scale, clip)``: the run's rewards so far, in today's units. The
    normalised rewards themselves would make the run's range that of its first steps, when
    the scale is still tiny and every reward reaches the clip.
    """

    __slots__ = ("gamma", "high", "low")

    def __init__(self, gamma: float) -> None:
        self.gamma = float(gamma)
        self.low = math.inf
        self.high = -math.inf

    def see(self, rewards: Any) -> None:
        """Counts the rewards (any iterable of numbers, array or tensor, any shape)."""
        for r in floats(rewards, "rewards"):
            if math.isfinite(r):
                self.low = min(self.low, r)
                self.high = max(self.high, r)

    @property
    def range(self) -> tuple[float, float] | None:
        """(low, high), or None: no reward seen yet, or gamma not in [0, 1) (no bound)."""
        return self.range_at(1.0)

    def range_at(self, scale: float, clip: float | None = None) -> tuple[float, float] | None:
        """(low, high) of the rewards seen divided by ``scale`` and clipped to [-clip,
        clip], as a reward normaliser makes them now; None as for ``range``, or when the
        scale is not a positive number."""
        if self.low > self.high or not 0.0 <= self.gamma < 1.0:
            return None
        if not (math.isfinite(scale) and scale > 0.0):
            return None
        low, high = self.low / scale, self.high / scale
        if clip is not None:
            low, high = (min(clip, max(-clip, x)) for x in (low, high))
        horizon = 1.0 / (1.0 - self.gamma)
        return min(0.0, low) * horizon, max(0.0, high) * horizon


def _named(values: Any, returns: Any, td_errors: Any) -> list[tuple[Any, str]]:
    return [(values, "values"), (returns, "returns"), (td_errors, "td_errors")]


def _numpy() -> Any:
    """numpy, imported on first use (so importing value_diag stays fast), or None."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _same_length(nv: int, nr: int, nd: int) -> None:
    if not nv == nr == nd:
        raise ValueError(
            f"values, returns and td_errors must have the same length; "
            f"got {nv}, {nr} and {nd} items"
        )


# --- inputs ----------------------------------------------------------------------------------

MASKED: Final = frozenset({"MaskedArray", "MaskedTensor"})
"""Class names of masked arrays (numpy.ma, torch.masked): their masked items hold numbers
that are not meant to be used, and np.asarray and tolist() would use or drop them."""


def _check_kind(seq: Any, name: str) -> None:
    """Refuses inputs whose items have no step order or are not all meant to be used.

    Raises:
        ValueError: ``seq`` is a mapping, a set or a masked array.
    """
    if isinstance(seq, Mapping):
        raise ValueError(
            f"{name} is a {type(seq).__name__}, not a sequence: pass its numbers in step "
            f"order as a list or an array"
        )
    if isinstance(seq, Set):
        raise ValueError(
            f"{name} is a {type(seq).__name__}: its items have no order to pair them with "
            f"the other inputs' by"
        )
    if any(cls.__name__ in MASKED for cls in type(seq).__mro__):
        raise ValueError(
            f"{name} is a masked array, whose masked items would be used as numbers: pass "
            f"the items to use, the same steps of all three (e.g. {name}.compressed() when "
            f"they share one mask)"
        )


def floats(seq: Any, name: str = "values") -> list[float]:
    """The items of a list, array or tensor as Python floats, flattened.

    Raises:
        ValueError: ``seq`` is not a sequence, or one of its items is not a number.
    """
    items = seq.tolist() if hasattr(seq, "tolist") else seq
    if not isinstance(items, Iterable) or isinstance(items, str | bytes):
        raise ValueError(f"{name} must be a sequence of numbers, not {_kind(items)}")
    out = items if isinstance(items, list) else list(items)
    # The common case (a list, or an array's tolist()) needs no conversion at all.
    if set(map(type, out)) <= {float}:
        return out
    flat: list[float] = []
    _flatten(out, name, [], flat, _Shape())
    return flat


class _Shape:
    """The shape nested lists must keep: each level's length, and the level of the numbers.

    Set by the first row met at each level; every other row is held to it, so that a
    ragged list is refused instead of flattened into a series that pairs wrongly.
    """

    __slots__ = ("leaf", "lengths")

    def __init__(self) -> None:
        self.lengths: dict[int, int] = {}
        self.leaf = -1

    def number_at(self, level: int, name: str, where: list[int]) -> None:
        """A number at ``level`` (1: an item of the input itself)."""
        if self.leaf < 0 and level not in self.lengths:
            self.leaf = level
        elif level != self.leaf:
            raise ValueError(f"{name} is ragged: {_at(name, where)} is a number among rows")

    def row_at(self, level: int, name: str, where: list[int]) -> None:
        """A row (a list) at ``level``, before its items are read."""
        if 0 <= self.leaf <= level:
            raise ValueError(f"{name} is ragged: {_at(name, where)} is a row among numbers")

    def row_read(self, level: int, length: int, name: str, where: list[int]) -> None:
        """A row at ``level`` whose items were all numbers or rows: its length must be
        that of the first row at its level."""
        first = self.lengths.setdefault(level, length)
        if first != length:
            raise ValueError(
                f"{name} is ragged: {_at(name, where)} has {length} item"
                f"{'' if length == 1 else 's'}, the rows before it {first}"
            )


def _flatten(
    items: list[Any] | tuple[Any, ...], name: str, where: list[int], out: list[float], shape: _Shape
) -> None:
    level = len(where) + 1  # the level of this list's items
    for i, x in enumerate(items):
        if type(x) is float:
            out.append(x)
            if shape.leaf != level:
                shape.number_at(level, name, [*where, i])
            continue
        if hasattr(x, "tolist"):  # a numpy scalar, a 0-d tensor, or a row of an array
            x = x.tolist()
        if isinstance(x, list | tuple):
            shape.row_at(level, name, [*where, i])
            _flatten(x, name, [*where, i], out, shape)
            shape.row_read(level, len(x), name, [*where, i])
            continue
        if isinstance(x, bool | str | bytes | bytearray):
            raise ValueError(f"{_at(name, [*where, i])} is {_kind(x)}, not a number")
        try:
            out.append(float(x))
        except (TypeError, ValueError):
            raise ValueError(f"{_at(name, [*where, i])} is {_kind(x)}, not a number") from None
        if shape.leaf != level:
            shape.number_at(level, name, [*where, i])


def _at(name: str, where: list[int]) -> str:
    return name + "".join(f"[{i}]" for i in where)


def _kind(x: object) -> str:
    if x is None:
        return "None"
    if isinstance(x, bool):
        return f"a boolean ({x})"
    if isinstance(x, str):
        return f"a string ({x[:20]!r})"
    return f"a {type(x).__name__}"


def _array(np: Any, seq: Any, name: str) -> FloatArray:
    """A flat float64 array of the items; what numpy cannot take as numbers goes item by item."""
    if isinstance(seq, list | tuple):
        # numpy would quietly turn True into 1.0 inside a list of floats: check the items.
        return np.asarray(floats(seq, name), dtype=np.float64)  # type: ignore[no-any-return]
    try:
        arr = np.asarray(seq)
    except Exception:  # CUDA or bfloat16 tensors, ragged lists: taken item by item below
        arr = None
    if arr is None or arr.ndim == 0 or arr.dtype.kind not in _NUMERIC_KINDS:
        # Strings, booleans, None and mixed objects: converted or named one by one.
        return np.asarray(floats(seq, name), dtype=np.float64)  # type: ignore[no-any-return]
    return arr.astype(np.float64, copy=False).ravel()  # type: ignore[no-any-return]


# --- pure Python -----------------------------------------------------------------------------


def _sum(xs: list[float]) -> float:
    """Correctly rounded sum; IEEE arithmetic where fsum refuses (inf - inf, overflow)."""
    try:
        return math.fsum(xs)
    except (ValueError, OverflowError):
        return sum(xs)


def _sumprod(a: list[float], b: list[float]) -> float:
    """Σ a·b, correctly rounded; IEEE arithmetic where fsum refuses."""
    try:
        return math.fsum(map(operator.mul, a, b))
    except (ValueError, OverflowError):
        return float(sum(map(operator.mul, a, b)))


def _max_abs(xs: list[float]) -> float:
    return max(map(abs, xs))


def _exponent(max_abs: float) -> int:
    """The power of two to divide a series by before taking its moments (0: none).

    Dividing by 2**e (exact: a power of two) brings the largest magnitude into [0.5, 1),
    so squares and cubes neither overflow for huge values nor underflow for tiny ones.
    Between SAFE_MIN and SAFE_MAX they cannot, and neither zero nor non-finite series
    gain anything: those keep e = 0 and cost no pass over the data.
    """
    if not SAFE_MIN <= max_abs <= SAFE_MAX:  # NaN too
        if max_abs == 0 or not math.isfinite(max_abs):
            return 0
        return max(math.frexp(max_abs)[1], MIN_EXPONENT)
    return 0


def _scaled(xs: list[float], e: int) -> list[float]:
    if e == 0:
        return xs
    factor = math.ldexp(1.0, -e)
    return [x * factor for x in xs]


def _unscale(x: float, e: int) -> float:
    """x * 2**e; infinite where that is beyond the float range."""
    try:
        return math.ldexp(x, e)
    except OverflowError:
        return math.copysign(math.inf, x)


def _is_zero(sd: float, max_abs: float) -> bool:
    """A standard deviation that is rounding noise (never true for NaN)."""
    return sd <= NEAR_ZERO * max_abs


def _metrics_python(v: list[float], r: list[float], d: list[float]) -> RolloutMetrics:
    n = len(v)
    if n == 0:
        return RolloutMetrics()
    max_v, max_r, max_d = _max_abs(v), _max_abs(r), _max_abs(d)
    ev, er, ed = _exponent(max_v), _exponent(max_r), _exponent(max_d)
    vs, rs, ds = _scaled(v, ev), _scaled(r, er), _scaled(d, ed)
    max_v, max_r = math.ldexp(max_v, -ev), math.ldexp(max_r, -er)

    dv, mean_v = _deviations(vs)
    dr, mean_r = _deviations(rs)
    sd_v = math.sqrt(_sumprod(dv, dv) / n)
    dr2 = list(map(operator.mul, dr, dr))
    var_r = _sum(dr2) / n
    sd_r = math.sqrt(var_r)
    corr = _correlation(_sumprod(dv, dr) / n, sd_v, sd_r, max_v, max_r)

    td_mean = _sum(ds) / n
    dd = [x - td_mean for x in ds]
    td_std = math.sqrt(_sumprod(dd, dd) / n)
    bellman = _sumprod(ds, ds) / n

    # NaN sorts nowhere: every percentile of it is NaN. Only a NaN mean can hide one.
    if math.isnan(mean_r) and any(map(math.isnan, r)):
        p10 = p50 = p90 = math.nan
    else:
        ordered = sorted(r)
        p10, p50, p90 = (percentile(ordered, q) for q in PERCENTILES)
    m3 = _sumprod(dr2, dr) / n
    skew = _skewness(m3, var_r, sd_r, max_r)

    # Var(g - v), of the differences as IEEE arithmetic gives them, scaled like the rest.
    diff = list(map(operator.sub, r, v))
    e_diff = _exponent(_max_abs(diff))
    ddiff, _ = _deviations(_scaled(diff, e_diff))
    explained = _explained(_sumprod(ddiff, ddiff) / n, e_diff, var_r, er, sd_r, max_r)
    if math.isnan(mean_v) and any(map(math.isnan, v)):
        v_min = v_max = math.nan
    else:
        v_min, v_max = min(v), max(v)
    critic = (explained, _unscale(mean_v, ev), _unscale(sd_v, ev), v_min, v_max)
    returns = (p10, p50, p90, _unscale(mean_r, er))
    return _result(corr, (td_mean, td_std, bellman), ed, returns, var_r, er, skew, critic)


def _explained(
    var_diff: float, e_diff: int, var_r: float, er: int, sd_r: float, max_r: float
) -> float:
    """1 - Var(g - v) / Var(g) from variances scaled by 4**e_diff and 4**er."""
    if math.isnan(var_r) or math.isnan(var_diff):
        return math.nan
    if _is_zero(sd_r, max_r):
        return math.nan  # the returns do not vary: there is no variance to explain
    return 1.0 - _unscale(var_diff / var_r, 2 * (e_diff - er))


def _deviations(xs: list[float]) -> tuple[list[float], float]:
    """Each item minus the mean, and the mean."""
    mean = _sum(xs) / len(xs)
    return [x - mean for x in xs], mean


def percentile(ordered: list[float], q: float) -> float:
    """The q-th percentile (0-100) of sorted numbers, linearly interpolated as numpy does.

    numpy's formulas are kept step for step (the index (n - 1) * q, and the interpolation
    taken from the upper neighbour past the midpoint), so the two agree to the last bit,
    also next to an infinity.
    """
    n = len(ordered)
    virtual = (n - 1) * (q / 100.0)
    lo = math.floor(virtual)
    gamma = virtual - lo
    # At the top numpy still interpolates, between the last item and itself: an
    # infinity there gives NaN (inf - inf), as numpy's does.
    a = ordered[min(lo, n - 1)]
    b = ordered[min(lo + 1, n - 1)]
    diff = b - a
    return b - diff * (1.0 - gamma) if gamma >= 0.5 else a + diff * gamma


def _correlation(cov: float, sd_v: float, sd_r: float, max_v: float, max_r: float) -> float:
    if math.isnan(sd_v) or math.isnan(sd_r):
        return math.nan
    if _is_zero(sd_v, max_v) or _is_zero(sd_r, max_r):
        return 0.0
    return _clamp(cov / (sd_v * sd_r))


def _result(
    corr: float,
    td: tuple[float, float, float],
    ed: int,
    returns: tuple[float, float, float, float],
    var_r: float,
    er: int,
    skew: float,
    critic: tuple[float, float, float, float, float],
) -> RolloutMetrics:
    """The metrics from the moments of scaled series: TD by 2**ed, returns by 2**er.

    ``returns`` holds the three percentiles and the mean, unscaled.
    """
    td_mean, td_std, bellman = td
    return RolloutMetrics(
        v_return_correlation=corr,
        td_error_mean=_unscale(td_mean, ed),
        td_error_std=_unscale(td_std, ed),
        bellman_error=_unscale(bellman, 2 * ed),
        return_p10=returns[0],
        return_p50=returns[1],
        return_p90=returns[2],
        return_variance=_unscale(var_r, 2 * er),
        return_skewness=skew,
        explained_variance=critic[0],
        value_mean=critic[1],
        value_std=critic[2],
        value_min=critic[3],
        value_max=critic[4],
        return_mean=returns[3],
    )


def _clamp(corr: float) -> float:
    """Into [-1, 1], where rounding can push a perfect correlation; NaN stays NaN."""
    if math.isnan(corr):
        return corr
    return max(-1.0, min(1.0, corr))


def _skewness(m3: float, var: float, sd: float, max_abs: float) -> float:
    if math.isnan(var) or math.isnan(m3):
        return math.nan
    if _is_zero(sd, max_abs):
        return 0.0
    return m3 / (var * sd)


# --- numpy -----------------------------------------------------------------------------------


def _metrics_numpy(np: Any, v: FloatArray, r: FloatArray, d: FloatArray) -> RolloutMetrics:
    n = v.size
    if n == 0:
        return RolloutMetrics()
    # inf - inf and overflow give NaN and inf, as in the pure path; no warnings about it.
    with np.errstate(all="ignore"):
        max_v, max_r, max_d = (float(np.abs(x).max()) for x in (v, r, d))
        ev, er, ed = _exponent(max_v), _exponent(max_r), _exponent(max_d)
        vs, rs, ds = (x * math.ldexp(1.0, -e) if e else x for x, e in ((v, ev), (r, er), (d, ed)))
        max_v, max_r = math.ldexp(max_v, -ev), math.ldexp(max_r, -er)

        mean_v = float(vs.mean())
        dv = vs - mean_v
        mean_r = float(rs.mean())
        dr = rs - mean_r
        sd_v = math.sqrt(float(np.dot(dv, dv)) / n)
        dr2 = dr * dr
        var_r = float(dr2.sum()) / n
        sd_r = math.sqrt(var_r)
        cov = float(np.dot(dv, dr)) / n
        corr = _correlation(cov, sd_v, sd_r, max_v, max_r)

        td_mean = float(ds.mean())
        dd = ds - td_mean
        td_std = math.sqrt(float(np.dot(dd, dd)) / n)
        bellman = float(np.dot(ds, ds)) / n

        if np.isnan(r).any():
            p10 = p50 = p90 = math.nan
        else:
            p10, p50, p90 = (float(p) for p in np.percentile(r, PERCENTILES))
        m3 = float(np.dot(dr2, dr)) / n
        skew = _skewness(m3, var_r, sd_r, max_r)

        diff = r - v
        e_diff = _exponent(float(np.abs(diff).max()))
        ds_diff = diff * math.ldexp(1.0, -e_diff) if e_diff else diff
        ddiff = ds_diff - ds_diff.mean()
        explained = _explained(float(np.dot(ddiff, ddiff)) / n, e_diff, var_r, er, sd_r, max_r)
        critic = (
            explained,
            _unscale(mean_v, ev),
            _unscale(sd_v, ev),
            float(v.min()),  # NaN if any is NaN, as in the pure path
            float(v.max()),
        )
    returns = (p10, p50, p90, _unscale(mean_r, er))
    return _result(corr, (td_mean, td_std, bellman), ed, returns, var_r, er, skew, critic)
