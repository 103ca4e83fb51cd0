"""render/styles.py: the colour of every metric at every level, as health.py used to carry it."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from value_diag import health
from value_diag.health import Level, Mark, Status
from value_diag.render.styles import mark_style, status_style, style_of

NAN = math.nan


@pytest.mark.parametrize(
    ("name", "rule", "x", "style"),
    [
        ("v_return_correlation", health.correlation, 0.87, "green bold"),
        ("v_return_correlation", health.correlation, 0.6, "green"),
        ("v_return_correlation", health.correlation, 0.4, "yellow"),
        ("v_return_correlation", health.correlation, 0.1, "red bold"),
        ("v_return_correlation", health.correlation, NAN, "red bold"),
        ("td_error_mean", health.td_error_mean, -1.0, "green"),
        ("td_error_mean", health.td_error_mean, 6.0, "yellow"),
        ("td_error_mean", health.td_error_mean, -16.0, "red bold"),
        ("bellman_error", health.bellman_error, 12.3, "green"),
        ("bellman_error", health.bellman_error, 20.0, "yellow"),
        ("bellman_error", health.bellman_error, 50.0, "red bold"),
        ("return_skewness", health.return_skewness, 0.2, "cyan"),
        ("return_skewness", health.return_skewness, -1.5, "yellow"),
        ("return_skewness", health.return_skewness, 2.0, "red bold"),
        ("return_variance", health.return_variance, 100.0, "cyan"),
        ("return_variance", health.return_variance, 201.0, "yellow"),
        ("return_variance", health.return_variance, -1.0, "red bold"),
        ("return_p10", health.return_percentile, -12.0, "red"),
        ("return_p50", health.return_percentile, 0.0, "green"),
        ("return_p90", health.return_percentile, 34.0, "green"),
        ("return_p90", health.return_percentile, -math.inf, "red bold"),
        ("td_error_std", health.informational, 8.1, ""),
        ("td_error_std", health.informational, math.inf, "red bold"),
        ("return_spread", health.return_spread, 50.0, ""),
        ("return_spread", health.return_spread, 90.0, "yellow"),
        ("return_spread", health.return_spread, NAN, "red bold"),
    ],
)
def test_each_metric_keeps_its_colour(
    name: str, rule: Callable[[float], Mark], x: float, style: str
) -> None:
    assert mark_style(name, rule(x), x) == style


@pytest.mark.parametrize(("enabled", "style"), [(True, "green"), (False, "red bold reverse")])
def test_compile_colours(enabled: bool, style: str) -> None:
    assert mark_style(health.COMPILE, health.compile_status(enabled)) == style


@pytest.mark.parametrize("name", [*health.RULES, health.COMPILE])
def test_a_part_not_reported_is_dim(name: str) -> None:
    assert mark_style(name, Mark(Level.NO_DATA), -5.0) == "dim"


def test_style_of_reads_the_value_from_the_health() -> None:
    marks = {"return_p10": Mark(Level.INFO), "return_p90": Mark(Level.INFO)}
    h = health.Health(Status.OK, {"return_p10": -3.0, "return_p90": 3.0}, marks)
    assert (style_of(h, "return_p10"), style_of(h, "return_p90")) == ("red", "green")


@pytest.mark.parametrize(
    ("status", "style"),
    [
        (Status.CRITICAL, "red bold"),
        (Status.WARNING, "yellow"),
        (Status.OK, "green"),
        (Status.NO_DATA, "dim"),
    ],
)
def test_status_colours(status: Status, style: str) -> None:
    assert status_style(status) == style
