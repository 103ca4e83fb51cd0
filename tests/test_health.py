"""Health rules: every threshold on both sides, non-finite values, unreported parts, status."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telemetry import EXAMPLE

from value_diag import config, health
from value_diag.health import Icon, Level, Mark, Rules, Status, Thresholds, assess, reaches
from value_diag.schema import (
    VALUE_FIELDS,
    InfrastructureMetrics,
    SanctumSnapshot,
    TamiyoState,
    ValueFunctionMetrics,
)

INF = math.inf
NAN = math.nan


def below(x: float) -> float:
    """The largest float smaller than ``x``: 'just under the threshold'."""
    return math.nextafter(x, -INF)


def above(x: float) -> float:
    """The smallest float larger than ``x``: 'just over the threshold'."""
    return math.nextafter(x, INF)


# Healthy everywhere: every judged metric ok, spread 40 (not > 50), variance 25.
HEALTHY: dict[str, float] = {
    "v_return_correlation": 0.9,
    "td_error_mean": 1.0,
    "td_error_std": 3.0,
    "bellman_error": 4.0,
    "return_p10": 10.0,
    "return_p50": 30.0,
    "return_p90": 50.0,
    "return_variance": 25.0,
    "return_skewness": 0.1,
}


def snapshot(
    values: Mapping[str, float] | None = None,
    *,
    enabled: bool = True,
    backend: str = "inductor",
    mode: str = "default",
    **overrides: float,
) -> SanctumSnapshot:
    """A snapshot with ``values`` (default HEALTHY) and ``overrides`` applied."""
    merged = dict(HEALTHY if values is None else values)
    merged.update(overrides)
    assert set(merged) == set(VALUE_FIELDS), "a misspelt metric name"
    vf = ValueFunctionMetrics()
    for name, value in merged.items():
        setattr(vf, name, value)
    infra = InfrastructureMetrics(
        compile_enabled=enabled, compile_backend=backend, compile_mode=mode
    )
    return SanctumSnapshot(tamiyo=TamiyoState(value_function=vf, infrastructure=infra))


CRIT = Mark(Level.CRITICAL)
WARN = Mark(Level.WARNING)


# --- the rule functions, boundary by boundary -------------------------------------------


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (1.0, Mark(Level.OK, Icon.UP)),
        (0.87, Mark(Level.OK, Icon.UP)),
        (0.8, Mark(Level.OK, Icon.UP)),
        (below(0.8), Mark(Level.OK, Icon.FLAT)),
        (0.5, Mark(Level.OK, Icon.FLAT)),
        (below(0.5), Mark(Level.WARNING, Icon.FLAT)),
        (0.3, Mark(Level.WARNING, Icon.FLAT)),
        (below(0.3), Mark(Level.CRITICAL, Icon.DOWN)),
        (0.0, Mark(Level.CRITICAL, Icon.DOWN)),
        (-0.9, Mark(Level.CRITICAL, Icon.DOWN)),
        (NAN, Mark(Level.CRITICAL, Icon.DOWN)),
        (INF, Mark(Level.CRITICAL, Icon.DOWN)),
        (-INF, Mark(Level.CRITICAL, Icon.DOWN)),
    ],
)
def test_correlation_grades_and_icons(x: float, expected: Mark) -> None:
    assert health.correlation(x) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, Mark(Level.OK)),
        (below(5.0), Mark(Level.OK)),
        (above(-5.0), Mark(Level.OK)),
        (5.0, WARN),
        (-5.0, WARN),
        (below(15.0), WARN),
        (above(-15.0), WARN),
        (15.0, CRIT),
        (-15.0, CRIT),
        (1e9, CRIT),
        (-1e9, CRIT),
        (NAN, CRIT),
        (INF, CRIT),
        (-INF, CRIT),
    ],
)
def test_td_error_mean_uses_absolute_value(x: float, expected: Mark) -> None:
    assert health.td_error_mean(x) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, Mark(Level.OK)),
        (12.3, Mark(Level.OK)),
        (below(20.0), Mark(Level.OK)),
        (20.0, WARN),
        (below(50.0), WARN),
        (50.0, CRIT),
        (1e308, CRIT),
        (NAN, CRIT),
        (INF, CRIT),
        (-INF, CRIT),
    ],
)
def test_bellman_error_bands(x: float, expected: Mark) -> None:
    assert health.bellman_error(x) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, Mark(Level.OK)),
        (below(1.0), Mark(Level.OK)),
        (above(-1.0), Mark(Level.OK)),
        (1.0, WARN),
        (-1.0, WARN),
        (below(2.0), WARN),
        (above(-2.0), WARN),
        (2.0, CRIT),
        (-2.0, CRIT),
        (NAN, CRIT),
        (INF, CRIT),
        (-INF, CRIT),
    ],
)
def test_skewness_uses_absolute_value(x: float, expected: Mark) -> None:
    assert health.return_skewness(x) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, Mark(Level.OK)),
        (100.0, Mark(Level.OK)),
        (above(100.0), WARN),
        (201.64, WARN),
        (1e308, WARN),
        (-1e-12, Mark(Level.CRITICAL, note=health.IMPOSSIBLE["return_variance"])),
        (-1.0, Mark(Level.CRITICAL, note=health.IMPOSSIBLE["return_variance"])),
        (NAN, CRIT),
        (INF, CRIT),
        (-INF, CRIT),
    ],
)
def test_variance_warns_strictly_above_100_and_negative_is_critical(
    x: float, expected: Mark
) -> None:
    assert health.return_variance(x) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (-12.0, Mark(Level.INFO)),
        (below(0.0), Mark(Level.INFO)),
        (0.0, Mark(Level.INFO)),
        (34.0, Mark(Level.INFO)),
        (NAN, CRIT),
        (INF, CRIT),
        (-INF, CRIT),
    ],
)
def test_percentile_is_info(x: float, expected: Mark) -> None:
    assert health.return_percentile(x) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (8.1, Mark(Level.INFO)),
        (1e300, Mark(Level.INFO)),
        (-3.0, Mark(Level.INFO)),
        (NAN, CRIT),
        (INF, CRIT),
        (-INF, CRIT),
    ],
)
def test_informational_only_alarms_on_non_finite(x: float, expected: Mark) -> None:
    assert health.informational(x) == expected


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, Mark(Level.OK)),
        (50.0, Mark(Level.OK)),
        (above(50.0), Mark(Level.WARNING, Icon.SPREAD)),
        (90.0, Mark(Level.WARNING, Icon.SPREAD)),
        (NAN, Mark(Level.CRITICAL, Icon.SPREAD)),
        (INF, Mark(Level.CRITICAL, Icon.SPREAD)),
    ],
)
def test_return_spread_warns_strictly_above_50(x: float, expected: Mark) -> None:
    assert health.return_spread(x) == expected


@pytest.mark.parametrize(
    ("enabled", "expected"),
    [
        (True, Mark(Level.OK, Icon.CHECK)),
        (False, Mark(Level.WARNING)),
    ],
)
def test_compile_status(enabled: bool, expected: Mark) -> None:
    assert health.compile_status(enabled) == expected


# --- assess: one snapshot -> marks and status ---------------------------------------


def levels(snap: SanctumSnapshot, unreported: frozenset[str] = frozenset()) -> dict[str, Level]:
    return {name: mark.level for name, mark in assess(snap, unreported).marks.items()}


def test_assess_spec_example_levels_and_status() -> None:
    snap = snapshot(EXAMPLE, mode="reduce-overhead")
    h = assess(snap)
    assert levels(snap) == {
        "v_return_correlation": Level.OK,
        "td_error_mean": Level.OK,
        "td_error_std": Level.INFO,
        "bellman_error": Level.OK,
        "return_p10": Level.INFO,
        "return_p50": Level.INFO,
        "return_p90": Level.INFO,
        "return_variance": Level.WARNING,
        "return_skewness": Level.OK,
        "return_spread": Level.WARNING,
        "compile": Level.OK,
    }
    assert h.status is Status.WARNING
    assert h.values["return_spread"] == 90.0
    assert {k: h.values[k] for k in VALUE_FIELDS} == EXAMPLE


def test_assess_healthy_snapshot_is_ok_with_info_counting_as_ok() -> None:
    h = assess(snapshot())
    assert h.status is Status.OK
    assert {m.level for m in h.marks.values()} == {Level.OK, Level.INFO}


@pytest.mark.parametrize(
    ("field", "value", "level"),
    [
        # Each field is judged by its own rule, proven by a value that only that rule flags.
        ("v_return_correlation", 0.4, Level.WARNING),
        ("td_error_mean", -5.0, Level.WARNING),
        ("bellman_error", 20.0, Level.WARNING),
        ("return_skewness", -1.0, Level.WARNING),
        ("return_variance", 100.5, Level.WARNING),
        ("v_return_correlation", 0.1, Level.CRITICAL),
        ("td_error_mean", -15.0, Level.CRITICAL),
        ("bellman_error", 50.0, Level.CRITICAL),
        ("return_skewness", 2.0, Level.CRITICAL),
        ("return_variance", -0.5, Level.CRITICAL),
        # Informational metrics never alarm on a finite value, however extreme.
        ("td_error_std", 1e12, Level.INFO),
        ("return_p50", -1e6, Level.INFO),
    ],
)
def test_assess_routes_each_field_to_its_rule(field: str, value: float, level: Level) -> None:
    h = assess(snapshot({**HEALTHY, field: value}))
    assert h.marks[field].level is level
    others = {k: m.level for k, m in h.marks.items() if k != field}
    assert Level.WARNING not in others.values()
    assert Level.CRITICAL not in others.values()
    expected_status = {Level.INFO: Status.OK, Level.WARNING: Status.WARNING}.get(
        level, Status.CRITICAL
    )
    assert h.status is expected_status


@pytest.mark.parametrize(
    ("p10", "p90", "level"),
    [
        (0.0, 50.0, Level.OK),
        (-25.0, 25.0, Level.OK),
        (-25.0, 25.5, Level.WARNING),
        (-12.0, 78.0, Level.WARNING),
        (30.0, 10.0, Level.OK),
    ],
)
def test_assess_spread_is_p90_minus_p10(p10: float, p90: float, level: Level) -> None:
    h = assess(snapshot(return_p10=p10, return_p90=p90, return_p50=p10))
    assert h.values["return_spread"] == p90 - p10
    assert h.marks["return_spread"].level is level


@pytest.mark.parametrize(
    ("snap", "status"),
    [
        (snapshot(), Status.OK),
        (snapshot(enabled=False), Status.WARNING),
        (snapshot(bellman_error=25.0), Status.WARNING),
        (snapshot(bellman_error=25.0, v_return_correlation=0.1), Status.CRITICAL),
        (snapshot(enabled=False, return_skewness=3.0), Status.CRITICAL),
        (snapshot(return_p10=-40.0, return_p50=-30.0, return_p90=-20.0), Status.OK),
        (snapshot(td_error_std=NAN), Status.CRITICAL),
        (snapshot(return_p90=INF), Status.CRITICAL),
        (snapshot(return_p10=-INF), Status.CRITICAL),
    ],
)
def test_status_is_the_worst_level(snap: SanctumSnapshot, status: Status) -> None:
    assert assess(snap).status is status


def test_assess_none_is_no_data() -> None:
    h = assess(None)
    assert h.status is Status.NO_DATA
    assert dict(h.marks) == {}


def test_unreported_infrastructure_is_not_judged() -> None:
    # Eager (a warning if judged) but the file never reported compile status.
    h = assess(snapshot(enabled=False), frozenset({"infrastructure"}))
    assert h.marks["compile"].level is Level.NO_DATA
    assert h.status is Status.OK
    # The value metrics are still judged.
    h = assess(snapshot(enabled=False, bellman_error=60.0), frozenset({"infrastructure"}))
    assert h.marks["bellman_error"].level is Level.CRITICAL
    assert h.status is Status.CRITICAL


def test_unreported_value_function_is_not_judged() -> None:
    nan_values = dict.fromkeys(VALUE_FIELDS, NAN)
    h = assess(snapshot(nan_values), frozenset({"value_function"}))
    assert {h.marks[name].level for name in (*VALUE_FIELDS, "return_spread")} == {Level.NO_DATA}
    assert h.marks["compile"].level is Level.OK
    assert h.status is Status.NO_DATA, "nothing of the value function judged: no data, not ok"
    h = assess(snapshot(nan_values, enabled=False), frozenset({"value_function"}))
    assert h.status is Status.WARNING, "an alarm is an alarm, whatever else is missing"


def test_both_parts_unreported_judges_nothing() -> None:
    h = assess(snapshot(enabled=False), frozenset({"value_function", "infrastructure"}))
    assert {m.level for m in h.marks.values()} == {Level.NO_DATA}
    assert h.status not in (Status.WARNING, Status.CRITICAL)


def test_custom_thresholds_are_used() -> None:
    strict = Rules(bellman_warning=10.0, bellman_critical=12.0, spread_warning=100.0)
    h = assess(snapshot(EXAMPLE), t=strict)
    assert h.marks["bellman_error"].level is Level.CRITICAL
    assert h.marks["return_spread"].level is Level.OK


def test_default_thresholds_are_the_specs() -> None:
    assert Thresholds() == Thresholds(
        corr_excellent=0.8,
        corr_warning=0.5,
        corr_critical=0.3,
        td_mean_warning=5.0,
        td_mean_critical=15.0,
        bellman_warning=20.0,
        bellman_critical=50.0,
        skew_warning=1.0,
        skew_critical=2.0,
        variance_warning=100.0,
        spread_warning=50.0,
    )


# --- properties ------------------------------------------------------------------------

NON_FINITE = st.sampled_from([NAN, INF, -INF])
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)


@given(
    values=st.lists(ANY_FLOAT, min_size=9, max_size=9),
    bad_index=st.integers(0, 8),
    bad=NON_FINITE,
    enabled=st.booleans(),
)
def test_any_non_finite_value_makes_the_frame_critical(
    values: list[float], bad_index: int, bad: float, enabled: bool
) -> None:
    values[bad_index] = bad
    snap = snapshot(dict(zip(VALUE_FIELDS, values, strict=True)), enabled=enabled)
    h = assess(snap)
    assert h.marks[VALUE_FIELDS[bad_index]].level is Level.CRITICAL
    assert h.status is Status.CRITICAL


SEVERITY = {Level.NO_DATA: 0, Level.INFO: 0, Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2}
STATUS_OF = {0: Status.OK, 1: Status.WARNING, 2: Status.CRITICAL}


@given(values=st.lists(ANY_FLOAT, min_size=9, max_size=9), enabled=st.booleans())
def test_status_equals_worst_mark(values: list[float], enabled: bool) -> None:
    h = assess(snapshot(dict(zip(VALUE_FIELDS, values, strict=True)), enabled=enabled))
    assert set(h.marks) == {*VALUE_FIELDS, "return_spread", "compile"}
    assert h.status is STATUS_OF[max(SEVERITY[m.level] for m in h.marks.values())]


# --- reaches ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "threshold", "expected"),
    [
        (Status.CRITICAL, Status.CRITICAL, True),
        (Status.CRITICAL, Status.WARNING, True),
        (Status.WARNING, Status.WARNING, True),
        (Status.WARNING, Status.CRITICAL, False),
        (Status.OK, Status.WARNING, False),
        (Status.OK, Status.CRITICAL, False),
        (Status.NO_DATA, Status.WARNING, False),
        (Status.NO_DATA, Status.CRITICAL, False),
        # A threshold that every frame would reach is no threshold at all.
        (Status.OK, Status.OK, False),
        (Status.CRITICAL, Status.OK, False),
        (Status.CRITICAL, Status.NO_DATA, False),
        (Status.CRITICAL, None, False),
        (Status.WARNING, None, False),
    ],
)
def test_reaches(status: Status, threshold: Status | None, expected: bool) -> None:
    assert reaches(status, threshold) is expected


def test_every_threshold_has_exactly_one_config_key() -> None:
    """One home: each number of Thresholds is named once in the config table beside it."""
    named = [field for levels in config.CONFIG_KEYS.values() for field in levels.values()]
    assert sorted(named) == sorted(f.name for f in dataclasses.fields(health.Thresholds))
    assert set(config.CONFIG_KEYS) >= config.HIGHER_IS_HEALTHIER
    assert set(config.CONFIG_KEYS) >= config.ABSOLUTE
