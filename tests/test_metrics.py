"""metrics.py: every definition against numpy and scipy, the edge cases, and both paths."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from conftest import examples
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from value_diag.producer.metrics import (
    CRITIC_FIELDS,
    FIT_FIELDS,
    RolloutMetrics,
    compute_value_metrics,
    floats,
    percentile,
)
from value_diag.schema import VALUE_FIELDS, ValueFunctionMetrics

PATHS = [pytest.param(False, id="pure"), pytest.param(True, id="numpy")]
ALL_FIELDS = (*VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS)


def as_tuple(m: ValueFunctionMetrics) -> tuple[float, ...]:
    return tuple(getattr(m, name) for name in ALL_FIELDS)


def same(a: ValueFunctionMetrics, b: ValueFunctionMetrics) -> bool:
    """Equal, NaN equal to NaN."""
    return all(
        (math.isnan(x) and math.isnan(y)) or x == y
        for x, y in zip(as_tuple(a), as_tuple(b), strict=True)
    )


def close(a: ValueFunctionMetrics, b: ValueFunctionMetrics, rel: float = 1e-9) -> bool:
    """Equal to ``rel`` (absolute below 1e-9), NaN equal to NaN, infinities exactly."""
    for x, y in zip(as_tuple(a), as_tuple(b), strict=True):
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                return False
        elif x != pytest.approx(y, rel=rel, abs=1e-9):
            return False
    return True


def skew(r: Any, bias: bool = True) -> float:
    """scipy.stats.skew, imported at its first use: scipy takes about a second to import, in
    every test process that collects this module."""
    import scipy.stats

    return float(scipy.stats.skew(r, bias=bias))


def reference(v: Any, r: Any, d: Any) -> dict[str, float]:
    """The definitions, in numpy and scipy's words."""
    v, r, d = (np.asarray(x, dtype=np.float64) for x in (v, r, d))
    p10, p50, p90 = np.percentile(r, [10, 50, 90])
    var_r = np.var(r)  # ddof=0, as Stable-Baselines3's explained_variance
    return {
        "explained_variance": float("nan") if var_r == 0 else float(1 - np.var(r - v) / var_r),
        "value_mean": float(np.mean(v)),
        "value_std": float(np.std(v)),  # ddof=0: population
        "value_min": float(np.min(v)),
        "value_max": float(np.max(v)),
        "return_mean": float(np.mean(r)),
        "v_return_correlation": float(np.corrcoef(v, r)[0, 1]),
        "td_error_mean": float(np.mean(d)),
        "td_error_std": float(np.std(d)),  # ddof=0: population
        "bellman_error": float(np.mean(d**2)),
        "return_p10": float(p10),
        "return_p50": float(p50),
        "return_p90": float(p90),
        "return_variance": float(np.var(r)),  # ddof=0: population
        "return_skewness": skew(r, bias=True),  # Fisher-Pearson g1
    }


def check_against_reference(m: ValueFunctionMetrics, v: Any, r: Any, d: Any) -> None:
    want = reference(v, r, d)
    scale = max(1.0, float(np.max(np.abs(np.asarray(d)))) ** 2)
    for name, value in want.items():
        got = getattr(m, name)
        assert type(got) is float, (name, type(got))
        # Squares and cubes of large numbers lose absolute precision: compare relative to
        # the scale of the data for the moments, tightly for the bounded quantities.
        tol = 1e-9 * (scale if name == "bellman_error" else 1.0)
        assert got == pytest.approx(value, rel=1e-9, abs=tol), name


# --- the definitions against numpy and scipy -----------------------------------------------------

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False)


@st.composite
def rollouts(draw: st.DrawFn) -> tuple[list[float], list[float], list[float]]:
    n = draw(st.integers(3, 120))
    same_length = st.lists(finite, min_size=n, max_size=n)
    v, r, d = draw(same_length), draw(same_length), draw(same_length)
    # Away from (near-)constant series, where the definitions differ on purpose (0.0 here,
    # NaN or rounding noise there).
    assume(np.std(v) > 1e-3 * max(1.0, float(np.max(np.abs(v)))))
    assume(np.std(r) > 1e-3 * max(1.0, float(np.max(np.abs(r)))))
    return v, r, d


@pytest.mark.parametrize("use_numpy", PATHS)
@settings(max_examples=examples(150), deadline=None)
@given(data=rollouts())
def test_every_definition_matches_numpy_and_scipy(
    use_numpy: bool, data: tuple[list[float], list[float], list[float]]
) -> None:
    v, r, d = data
    check_against_reference(compute_value_metrics(v, r, d, use_numpy=use_numpy), v, r, d)


@pytest.mark.parametrize("use_numpy", PATHS)
@pytest.mark.parametrize("n", [2, 3, 10, 1001, 20_000])
def test_seeded_rollouts_match_numpy_and_scipy(use_numpy: bool, n: int) -> None:
    rng = np.random.default_rng(n)
    r = rng.gamma(2.0, 10.0, size=n) - 15.0  # skewed returns
    v = r + rng.normal(0.0, 6.0, size=n)
    d = rng.normal(1.5, 4.0, size=n)
    m = compute_value_metrics(v, r, d, use_numpy=use_numpy)
    check_against_reference(m, v, r, d)
    if n >= 1001:  # the skew of a gamma(2) is 2/sqrt(2): the test data is what it claims
        assert m.return_skewness == pytest.approx(math.sqrt(2.0), abs=0.35)


@pytest.mark.parametrize("use_numpy", PATHS)
@settings(max_examples=examples(100), deadline=None)
@given(
    r=st.lists(st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([math.inf, -math.inf])),
    q=st.sampled_from([0.0, 10.0, 50.0, 90.0, 100.0, 33.3]),
)
def test_percentile_is_numpys_linear_interpolation_bit_for_bit(
    use_numpy: bool, r: list[float], q: float
) -> None:
    """The same numbers as numpy, also beside infinities (where interpolation gives NaN)."""
    assume(r)
    with np.errstate(invalid="ignore"):
        want = float(np.percentile(np.asarray(r), q))
    got = percentile(sorted(r), q)
    assert got == want or (math.isnan(got) and math.isnan(want))
    if q in (10.0, 50.0, 90.0):
        m = compute_value_metrics(r, r, r, use_numpy=use_numpy)
        got = getattr(m, f"return_p{int(q)}")
        assert got == want or (math.isnan(got) and math.isnan(want))


# --- edge cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("use_numpy", PATHS)
def test_empty_input_is_all_zeros(use_numpy: bool) -> None:
    m = compute_value_metrics([], [], [], use_numpy=use_numpy)
    assert as_tuple(m) == (0.0,) * 15
    assert m == RolloutMetrics(samples=0)


@pytest.mark.parametrize("use_numpy", PATHS)
def test_a_single_step(use_numpy: bool) -> None:
    m = compute_value_metrics([3.0], [7.5], [-2.0], use_numpy=use_numpy)
    assert m.v_return_correlation == 0.0, "one point has no variance"
    assert (m.td_error_mean, m.td_error_std, m.bellman_error) == (-2.0, 0.0, 4.0)
    assert (m.return_p10, m.return_p50, m.return_p90) == (7.5, 7.5, 7.5)
    assert (m.return_variance, m.return_skewness) == (0.0, 0.0)
    assert math.isnan(m.explained_variance), "one return: no variance to explain"
    assert (m.value_mean, m.value_std, m.value_min, m.value_max) == (3.0, 0.0, 3.0, 3.0)
    assert m.return_mean == 7.5
    assert m.samples == 1


@pytest.mark.parametrize("use_numpy", PATHS)
@pytest.mark.parametrize("level", [0.0, 1.0, 0.1, -3.7e6, 1e150, 5e-300])
def test_constant_series_have_no_correlation_and_no_skew(use_numpy: bool, level: float) -> None:
    """Rounding noise in the mean of a constant is not variance (numpy would give NaN)."""
    n = 997
    varying = [float(i % 13) for i in range(n)]
    m = compute_value_metrics([level] * n, varying, varying, use_numpy=use_numpy)
    assert m.v_return_correlation == 0.0
    m = compute_value_metrics(varying, [level] * n, varying, use_numpy=use_numpy)
    assert m.v_return_correlation == 0.0
    assert m.return_skewness == 0.0
    assert m.return_variance == pytest.approx(0.0, abs=(abs(level) * 1e-12) ** 2)
    assert math.isnan(m.explained_variance), "constant returns: nothing to explain"


@pytest.mark.parametrize("use_numpy", PATHS)
def test_small_spreads_of_small_numbers_still_count(use_numpy: bool) -> None:
    """Near zero is relative: returns of order 1e-9 still correlate and skew."""
    r = [1e-9 * x for x in (1.0, 2.0, 3.0, 4.0, 10.0)]
    v = [x * 2.0 + 1e-12 for x in r]
    m = compute_value_metrics(v, r, r, use_numpy=use_numpy)
    assert m.v_return_correlation == pytest.approx(1.0)
    assert m.return_skewness == pytest.approx(skew(r))


@pytest.mark.parametrize("use_numpy", PATHS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_perfect_correlation_is_clamped_to_one(use_numpy: bool, sign: float) -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        r = rng.normal(0.0, 1.0, size=64) * 10.0 ** rng.integers(-3, 6)
        m = compute_value_metrics(sign * 3.0 * r + 0.1, r, r, use_numpy=use_numpy)
        assert -1.0 <= m.v_return_correlation <= 1.0
        assert m.v_return_correlation == pytest.approx(sign, abs=1e-12)


@pytest.mark.parametrize("use_numpy", PATHS)
def test_nan_propagates_to_the_metrics_that_use_it(use_numpy: bool) -> None:
    v, r, d = [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 5.0], [0.5, -0.5, 1.0, 0.0]
    nan = math.nan

    m = compute_value_metrics([1.0, nan, 3.0, 4.0], r, d, use_numpy=use_numpy)
    assert math.isnan(m.v_return_correlation)
    assert all(math.isfinite(getattr(m, n)) for n in VALUE_FIELDS[1:]), "only V-corr uses V"
    assert all(math.isnan(getattr(m, n)) for n in CRITIC_FIELDS), "the critic's five use V"
    assert math.isfinite(m.return_mean), "of the returns alone"

    m = compute_value_metrics(v, r, [0.5, nan, 1.0, 0.0], use_numpy=use_numpy)
    td = ("td_error_mean", "td_error_std", "bellman_error")
    assert all(math.isnan(getattr(m, n)) for n in td)
    assert all(math.isfinite(getattr(m, n)) for n in VALUE_FIELDS if n not in td)

    m = compute_value_metrics(v, [1.0, 3.0, nan, 5.0], d, use_numpy=use_numpy)
    by_returns = (
        "v_return_correlation", "return_p10", "return_p50", "return_p90",
        "return_variance", "return_skewness",
    )  # fmt: skip
    assert all(math.isnan(getattr(m, n)) for n in (*by_returns, "return_mean"))
    assert all(math.isfinite(getattr(m, n)) for n in td)
    assert math.isnan(m.explained_variance)
    assert all(math.isfinite(getattr(m, n)) for n in CRITIC_FIELDS[1:]), "of V alone"


@pytest.mark.parametrize("use_numpy", PATHS)
def test_nan_beats_constant_in_the_correlation(use_numpy: bool) -> None:
    m = compute_value_metrics([math.nan, 1.0, 2.0], [4.0, 4.0, 4.0], [0.0] * 3, use_numpy=use_numpy)
    assert math.isnan(m.v_return_correlation)


@pytest.mark.parametrize("use_numpy", PATHS)
def test_explained_variance_is_stable_baselines3s(use_numpy: bool) -> None:
    """EV = 1 - Var(g - v) / Var(g) with ddof=0, the formula SB3 and CleanRL log."""
    rng = np.random.default_rng(5)
    g = rng.normal(3.0, 2.0, size=500)
    for v, want in ((g, 1.0), (g + 7.0, 1.0), (np.full(500, 3.0), None), (2.0 * g, None)):
        m = compute_value_metrics(v, g, g, use_numpy=use_numpy)
        ev = 1.0 - np.var(g - v) / np.var(g)
        assert m.explained_variance == pytest.approx(ev, rel=1e-12, abs=1e-12)
        if want is not None:
            assert m.explained_variance == want, "a constant offset explains all the variance"
    # EV = 2 rho k - k^2 (k = sigma_v / sigma_g), as the README says.
    v = 0.5 * g + rng.normal(0.0, 1.0, size=500)
    m = compute_value_metrics(v, g, g, use_numpy=use_numpy)
    k = float(np.std(v) / np.std(g))
    assert m.explained_variance == pytest.approx(2.0 * m.v_return_correlation * k - k * k)


@pytest.mark.parametrize("use_numpy", PATHS)
def test_value_range_and_spread(use_numpy: bool) -> None:
    m = compute_value_metrics([2.0, -1.0, 5.0, 2.0], [0.0] * 4, [0.0] * 4, use_numpy=use_numpy)
    assert (m.value_mean, m.value_min, m.value_max) == (2.0, -1.0, 5.0)
    assert m.value_std == pytest.approx(math.sqrt(4.5), rel=1e-15)
    assert math.isnan(m.explained_variance), "Var(returns) is 0: NaN, as SB3 gives"
    m = compute_value_metrics(
        [1.0, math.inf, -2.0], [1.0, 2.0, 3.0], [0.0] * 3, use_numpy=use_numpy
    )
    assert (m.value_min, m.value_max, m.value_mean) == (-2.0, math.inf, math.inf)
    assert math.isnan(m.explained_variance), "inf - inf"


@pytest.mark.parametrize("use_numpy", PATHS)
def test_infinities_follow_ieee_arithmetic_as_numpy_does(use_numpy: bool) -> None:
    inf = math.inf
    m = compute_value_metrics(
        [1.0, 2.0, 3.0], [1.0, 2.0, 4.0], [1.0, inf, 2.0], use_numpy=use_numpy
    )
    assert m.td_error_mean == inf
    assert math.isnan(m.td_error_std), "inf - inf"
    assert m.bellman_error == inf
    m = compute_value_metrics([1.0, 2.0], [1.0, 2.0], [inf, -inf], use_numpy=use_numpy)
    assert math.isnan(m.td_error_mean)
    assert m.bellman_error == inf


@pytest.mark.parametrize("use_numpy", PATHS)
@pytest.mark.parametrize("scale", [1e-200, 1e-300, 1e200, 1e300, 2.0**-1070])
def test_huge_and_tiny_numbers_neither_overflow_nor_underflow(
    use_numpy: bool, scale: float
) -> None:
    """Moments are scale-free: the same shape at any magnitude gives the same answers."""
    v, r, d = series(11, n=50)
    unit = compute_value_metrics(v, r, d, use_numpy=use_numpy)
    m = compute_value_metrics(
        [x * scale for x in v], [x * scale for x in r], [x * scale for x in d], use_numpy=use_numpy
    )
    if scale < 1e-320:  # subnormal: a few significant bits survive, but no NaN and no crash
        assert math.isfinite(m.v_return_correlation) and math.isfinite(m.return_skewness)
        return
    assert m.v_return_correlation == pytest.approx(unit.v_return_correlation, rel=1e-12)
    assert m.return_skewness == pytest.approx(unit.return_skewness, rel=1e-9)
    assert m.explained_variance == pytest.approx(unit.explained_variance, rel=1e-9)
    assert m.value_std == pytest.approx(unit.value_std * scale, rel=1e-12)
    assert m.value_mean == pytest.approx(unit.value_mean * scale, rel=1e-12)
    assert m.return_mean == pytest.approx(unit.return_mean * scale, rel=1e-12)
    assert m.td_error_mean == pytest.approx(unit.td_error_mean * scale, rel=1e-12)
    assert m.td_error_std == pytest.approx(unit.td_error_std * scale, rel=1e-12)
    for name in ("bellman_error", "return_variance"):  # squares: beyond the float range
        want = getattr(unit, name) * scale * scale
        assert getattr(m, name) == pytest.approx(want, rel=1e-12), name


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("use_numpy", PATHS)
@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        ((3, 2, 3), "got 3, 2 and 3 items"),
        ((3, 3, 4), "got 3, 3 and 4 items"),
        ((0, 1, 1), "got 0, 1 and 1 items"),
    ],
)
def test_mismatched_lengths_are_named(
    use_numpy: bool, lengths: tuple[int, int, int], message: str
) -> None:
    v, r, d = ([1.0] * n for n in lengths)
    with pytest.raises(ValueError, match="same length") as info:
        compute_value_metrics(v, r, d, use_numpy=use_numpy)
    assert message in str(info.value)


@pytest.mark.parametrize("use_numpy", PATHS)
@pytest.mark.parametrize(
    ("returns", "message"),
    [
        ([1.0, 2.0, "3.0"], "returns[2] is a string ('3.0'), not a number"),
        ([1.0, None, 3.0], "returns[1] is None, not a number"),
        ([True, 2.0, 3.0], "returns[0] is a boolean (True), not a number"),
        ([1.0, 2.0, 1j], "returns[2] is a complex, not a number"),
        ([[1.0], [2.0, {}], [3.0]], "returns[1][1] is a dict, not a number"),
        ("abc", "returns must be a sequence of numbers, not a string ('abc')"),
        (3.0, "returns must be a sequence of numbers, not a float"),
    ],
)
def test_non_numeric_items_are_named(use_numpy: bool, returns: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        compute_value_metrics([1.0, 2.0, 3.0], returns, [0.0, 0.0, 0.0], use_numpy=use_numpy)
    assert str(info.value) == message


def test_numpy_arrays_of_strings_or_booleans_are_refused_too() -> None:
    """numpy would happily turn '1.5' into 1.5; a string is still not a number."""
    with pytest.raises(ValueError, match=r"values\[0\] is a string"):
        compute_value_metrics(np.array(["1.5", "2"]), [1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"td_errors\[0\] is a boolean"):
        compute_value_metrics([1.0, 2.0], [1.0, 2.0], np.array([True, False]))


def test_use_numpy_without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without numpy the pure path answers; asking for numpy then is an ImportError."""
    v, r, d = [1.0, 2.0, 4.0], [1.0, 3.0, 2.0], [0.5, -1.0, 2.0]
    pure = compute_value_metrics(v, r, d, use_numpy=False)
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` now raises ImportError
    assert same(compute_value_metrics(v, r, d), pure)
    with pytest.raises(ImportError, match="needs numpy"):
        compute_value_metrics(v, r, d, use_numpy=True)


# --- what is accepted ----------------------------------------------------------------------------


class FakeTensor:
    """What compute_value_metrics may use of a torch tensor: tolist(), and maybe __array__."""

    def __init__(self, data: list[Any], array_ok: bool = True) -> None:
        self.data = data
        self.array_ok = array_ok

    def tolist(self) -> list[Any]:
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        if not self.array_ok:  # a CUDA tensor: numpy cannot see its memory
            raise TypeError("can't convert cuda:0 device type tensor to numpy")
        return np.asarray(self.data, dtype=dtype)


class Scalar:
    """A 0-d tensor: tolist() gives a number."""

    def __init__(self, x: float) -> None:
        self.x = x

    def tolist(self) -> float:
        return self.x


def series(seed: int, n: int = 200) -> tuple[list[float], list[float], list[float]]:
    rng = np.random.default_rng(seed)
    r = rng.normal(10.0, 5.0, size=n)
    return (r + rng.normal(0, 3, size=n)).tolist(), r.tolist(), rng.normal(1, 2, size=n).tolist()


def inputs_of_every_kind() -> Iterator[tuple[str, Any, Any, Any]]:
    v, r, d = series(3)
    yield "lists", v, r, d
    yield "tuples", tuple(v), tuple(r), tuple(d)
    yield "generators", (x for x in v), iter(r), (x for x in d)
    yield "numpy", np.array(v), np.array(r), np.array(d)
    yield "numpy 2-d", np.array(v).reshape(20, 10), np.array(r).reshape(20, 10), np.array(d)
    yield "nested lists", np.array(v).reshape(10, 20).tolist(), r, d
    yield "tensor", FakeTensor(v), FakeTensor(r), FakeTensor(d)
    yield "cuda tensor", FakeTensor(v, array_ok=False), FakeTensor(r, array_ok=False), d
    yield "0-d tensors", [Scalar(x) for x in v], r, [np.float64(x) for x in d]
    yield "mixed numbers", [Decimal(repr(x)) for x in v], [Fraction(x) for x in r], d


@pytest.mark.parametrize("use_numpy", PATHS)
def test_every_kind_of_sequence_gives_the_same_metrics(use_numpy: bool) -> None:
    want = compute_value_metrics(*series(3), use_numpy=use_numpy)
    for kind, v, r, d in inputs_of_every_kind():
        got = compute_value_metrics(v, r, d, use_numpy=use_numpy)
        assert same(got, want), kind


@pytest.mark.parametrize("use_numpy", PATHS)
def test_integers_and_narrow_floats_are_widened(use_numpy: bool) -> None:
    ints = [3, 1, 4, 1, 5, 9, 2, 6]
    want = compute_value_metrics([float(x) for x in ints], ints[::-1], ints, use_numpy=use_numpy)
    got = compute_value_metrics(np.array(ints), np.array(ints[::-1], dtype=np.uint8), ints)
    assert close(got, want)
    half = np.array([0.1, 0.7, 0.3], dtype=np.float16)
    m = compute_value_metrics(half, half, half, use_numpy=use_numpy)
    assert m.td_error_mean == pytest.approx(float(np.mean(half.astype(np.float64))), rel=1e-12)


@settings(max_examples=examples(150), deadline=None)
@given(
    data=st.integers(1, 80).flatmap(
        lambda n: st.tuples(
            *(
                st.lists(
                    st.floats(-1e6, 1e6, allow_nan=False) | st.just(math.nan) | st.just(math.inf),
                    min_size=n,
                    max_size=n,
                )
                for _ in range(3)
            )
        )
    )
)
def test_pure_and_numpy_paths_agree(data: tuple[list[float], ...]) -> None:
    v, r, d = data
    pure = compute_value_metrics(v, r, d, use_numpy=False)
    fast = compute_value_metrics(v, r, d, use_numpy=True)
    # Both sum exactly or nearly (fsum vs pairwise); NaN and infinities in the same places.
    assert close(pure, fast, rel=1e-7), (as_tuple(pure), as_tuple(fast))


def test_floats_keeps_a_list_of_floats_as_it_is() -> None:
    xs = [1.0, 2.5, -3.0]
    assert floats(xs) is xs, "no copy in the common case"
    assert floats(np.array(xs)) == xs
    assert floats([1, 2]) == [1.0, 2.0]
    assert all(type(x) is float for x in floats([np.float32(0.5), Decimal("2"), 3]))


# --- import cost ------------------------------------------------------------------------------


def test_importing_value_diag_loads_neither_numpy_nor_the_producer_modules() -> None:
    code = (
        "import sys, value_diag, value_diag.cli\n"
        "late = {'numpy', 'value_diag.producer.metrics', 'value_diag.producer.writer',"
        " 'value_diag.producer.simulate', 'value_diag.commands.demo'}\n"
        "assert not late & set(sys.modules), late & set(sys.modules)\n"
        "import value_diag.producer.metrics, value_diag.producer.writer\n"
        "assert 'numpy' not in sys.modules, 'numpy is imported on first use only'\n"
        "from value_diag import TelemetryWriter, compute_value_metrics\n"
        "assert compute_value_metrics([1.0], [2.0], [3.0]).bellman_error == 9.0\n"
        "assert TelemetryWriter.__module__ == 'value_diag.producer.writer'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()


def test_unknown_attributes_of_the_package_are_still_errors() -> None:
    import value_diag

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        value_diag.nope  # noqa: B018
    assert {"TelemetryWriter", "compute_value_metrics"} <= set(dir(value_diag))
