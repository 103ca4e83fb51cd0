"""Values no rollout can give are critical, with why: a negative Bellman error or TD spread,
a correlation past -1 or 1, a negative return variance. Through the real console script,
under both presets; they used to be judged ok (or, under scale-free, a negative Bellman
error an excellent ratio)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

from value_diag.health import IMPOSSIBLE

HEALTHY: dict[str, float] = {
    "v_return_correlation": 0.9,
    "td_error_mean": 0.1,
    "td_error_std": 1.0,
    "bellman_error": 1.0,
    "return_p10": 1.0,
    "return_p50": 5.0,
    "return_p90": 9.0,
    "return_variance": 9.0,
    "return_skewness": 0.1,
    "return_mean": 5.0,
    "explained_variance": 0.9,
    "value_mean": 5.0,
    "value_std": 3.0,
    "value_min": 0.0,
    "value_max": 10.0,
}
"""An update both presets call ok."""
PRESETS = ["default", "scale-free"]


def once(tmp_path: Path, *args: str, **overrides: float) -> tuple[int, dict[str, Any]]:
    """`once --format json` on a one-update run: its exit code and its frame."""
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps({"step": 1, **HEALTHY, **overrides}) + "\n")
    proc = invoke(["once", str(path), "--format", "json", *args])
    frame: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, frame


@pytest.mark.parametrize("preset", PRESETS)
def test_the_healthy_update_is_ok(tmp_path: Path, preset: str) -> None:
    """The baseline: each case below changes one number of it."""
    code, frame = once(tmp_path, "--preset", preset, "--fail-on", "critical")
    assert (code, frame["status"]) == (0, "ok")


CASES = [
    ("bellman_error", -100.0),
    ("bellman_error", -1e-300),
    ("td_error_std", -1.0),
    ("v_return_correlation", 1.5),
    ("v_return_correlation", -1.5),
    ("v_return_correlation", 1.000001),
    ("return_variance", -4.0),
]


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize(("name", "value"), CASES)
def test_an_impossible_value_is_critical_and_says_why(
    tmp_path: Path, preset: str, name: str, value: float
) -> None:
    _, frame = once(tmp_path, "--preset", preset, **{name: value})
    assert frame["status"] == "critical"
    assert frame["value_function"][name] == {
        "value": value,
        "level": "critical",
        "note": IMPOSSIBLE[name],
    }


@pytest.mark.parametrize(("name", "value"), CASES)
def test_the_gate_fails_on_it(tmp_path: Path, name: str, value: float) -> None:
    """Under the default preset (no warm-up) --fail-on critical exits 1 on one such update."""
    code, _ = once(tmp_path, "--preset", "default", "--fail-on", "critical", **{name: value})
    assert code == 1


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("value", [1.0, -1.0, 1.0 + 1e-12, -1.0 - 1e-12])
def test_a_correlation_at_one_or_rounded_past_it_is_not_impossible(
    tmp_path: Path, preset: str, value: float
) -> None:
    """A writer that does not clamp may give 1 + 1e-12 for a perfect fit: that is rounding."""
    _, frame = once(tmp_path, "--preset", preset, v_return_correlation=value)
    corr = frame["value_function"]["v_return_correlation"]
    assert "note" not in corr
    assert corr["level"] == (
        "ok" if value > 0 else "critical" if preset == "default" else "warning"
    )


def test_the_critic_block_says_it_too(tmp_path: Path) -> None:
    """--critic: the CRITIC CALIBRATION block's verdict is bad."""
    _, frame = once(tmp_path, "--preset", "scale-free", "--critic", bellman_error=-1)
    assert frame["critic"]["calib"] == {"value": "bad", "level": "critical"}


def test_zero_is_possible(tmp_path: Path) -> None:
    """A critic that fits its targets exactly has Bellman 0 and TD spread 0."""
    code, frame = once(
        tmp_path,
        "--preset",
        "default",
        "--fail-on",
        "critical",
        bellman_error=0.0,
        td_error_std=0.0,
    )
    assert frame["value_function"]["bellman_error"]["level"] == "ok"
    assert frame["value_function"]["td_error_std"]["level"] == "info"
    assert code == 0
