"""--preset scale-free: verdicts that fit any reward scale; the default stays the seed's."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Final

import pytest
from conftest import invoke
from telemetry import EXAMPLE, flat

from value_diag.health import LOW_RETURN_VARIANCE, Level, Preset, Rules, assess
from value_diag.schema import SanctumSnapshot

SAMPLES: Final = Path(__file__).parent.parent / "sample_logs"

CARTPOLE: Final = {
    "v_return_correlation": 0.98,
    "td_error_mean": 0.30,
    "td_error_std": 1.2,
    "bellman_error": 1.6,
    "return_p10": 61.0,
    "return_p50": 93.0,
    "return_p90": 98.5,
    "return_variance": 160.0,
    "return_skewness": -2.7,
    "explained_variance": 0.97,
    "value_mean": 84.0,
    "value_std": 12.4,
    "value_min": 9.6,
    "value_max": 99.2,
}
"""A healthy Stable-Baselines3 PPO on CartPole-v1, as its callback logs an update: the
discounted returns pile up under the gamma ceiling of about 100."""

FLAT_RETURNS: Final = {
    **CARTPOLE,
    "v_return_correlation": 0.0,
    "return_p10": 98.9,
    "return_p50": 98.9,
    "return_p90": 98.9,
    "return_variance": 0.0,
    "return_skewness": 0.0,
    "td_error_mean": 0.01,
    "bellman_error": 0.0001,
    "explained_variance": math.nan,
    "value_mean": 98.6,
    "value_std": 0.3,
    "value_min": 97.9,
    "value_max": 99.1,
}
"""Every episode reached the time limit: the returns do not vary, EV is 0/0, and V sits
within 1 % of them."""


def write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def status(path: Path, *args: str) -> str:
    proc = invoke(["once", str(path), "-f", "json", *args])
    assert proc.returncode in (0, 1), proc.stderr
    got = json.loads(proc.stdout)
    assert isinstance(got["status"], str)
    return got["status"]


def test_healthy_cartpole_is_critical_by_default_and_ok_scale_free(tmp_path: Path) -> None:
    run = write(tmp_path / "run.jsonl", flat(CARTPOLE))
    assert status(run) == "critical", "the seed's table: |skew| 2.7"
    proc = invoke(["once", str(run), "--preset", "scale-free", "--critic", "--fail-on", "warning"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines()[0].startswith("VALUE DIAGNOSTICS | ok |")
    assert "Calib     ok" in proc.stdout.decode()


@pytest.mark.parametrize("preset", ["default", "scale-free"])
def test_collapse_is_critical_under_both_presets(preset: str) -> None:
    proc = invoke(["once", str(SAMPLES / "collapse.jsonl"), "--preset", preset, "--critic",
                    "--fail-on", "critical"])  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "critical" in proc.stdout.decode().splitlines()[0]


@pytest.mark.parametrize("preset", ["default", "scale-free"])
def test_nan_ev_of_constant_returns_is_not_critical(tmp_path: Path, preset: str) -> None:
    run = write(tmp_path / "run.jsonl", flat(FLAT_RETURNS))
    proc = invoke(["once", str(run), "--preset", preset, "--critic", "-f", "json"])
    got = json.loads(proc.stdout)
    ev = got["critic"]["explained_variance"]
    assert ev == {"value": "NaN", "level": "info", "note": LOW_RETURN_VARIANCE}
    text = invoke(["once", str(run), "--preset", preset, "--critic"]).stdout.decode()
    assert f"{LOW_RETURN_VARIANCE}:" in text and "EV" in text.splitlines()[-1]


def test_scale_free_flat_returns_show_correlation_as_info_and_judge_the_fit(
    tmp_path: Path,
) -> None:
    run = write(tmp_path / "run.jsonl", flat(FLAT_RETURNS))
    got = json.loads(invoke(["once", str(run), "--preset", "scale-free", "-f", "json"]).stdout)
    assert got["status"] == "ok"
    corr = got["value_function"]["v_return_correlation"]
    assert (corr["level"], corr["note"]) == ("info", LOW_RETURN_VARIANCE)
    # TD Mean and Bellman are measured against the returns' size when they hardly vary
    for name in ("td_error_mean", "bellman_error"):
        assert got["value_function"][name]["level"] == "ok"
    assert status(run) == "critical", "the default judges V-Corr 0.0 as ever"


def test_scale_free_flat_returns_with_a_constant_head_far_from_them_are_critical(
    tmp_path: Path,
) -> None:
    # V 40 % under returns that do not vary, and scattered: no critic of them
    stuck = {**FLAT_RETURNS, "value_mean": 60.0, "value_std": 12.4, "return_mean": 98.9}
    run = write(tmp_path / "run.jsonl", flat(stuck))
    got = json.loads(invoke(["once", str(run), "--preset", "scale-free", "-f", "json"]).stdout)
    assert got["status"] == "critical"
    assert got["critic"]["value_fit"]["level"] == "critical"


def test_non_finite_stays_critical_under_the_floor(tmp_path: Path) -> None:
    run = write(tmp_path / "run.jsonl", flat({**FLAT_RETURNS, "td_error_mean": math.inf}))
    assert status(run, "--preset", "scale-free") == "critical"


def rules(**kw: object) -> Rules:
    return Rules(preset=Preset.SCALE_FREE, **kw)  # type: ignore[arg-type]


def judge(values: dict[str, float], t: Rules) -> dict[str, Level]:
    snap = SanctumSnapshot()
    for name, x in values.items():
        setattr(snap.tamiyo.value_function, name, x)
    return {name: mark.level for name, mark in assess(snap, t=t).marks.items()}


@pytest.mark.parametrize(
    ("td_mean", "bellman", "td_level", "bellman_level"),
    [
        (2.0, 20.0, Level.OK, Level.OK),  # 0.2 sigma, 0.2 of the variance
        (5.0, 25.0, Level.WARNING, Level.WARNING),  # 0.5 sigma, 0.25 of it
        (-10.0, 99.0, Level.CRITICAL, Level.WARNING),  # a sigma
        (0.0, 100.0, Level.OK, Level.CRITICAL),  # RMS TD error = return sigma
    ],
)
def test_ratios_of_the_return_spread(
    td_mean: float, bellman: float, td_level: Level, bellman_level: Level
) -> None:
    # returns centred on 0: D, the returns' scale, is their sigma alone
    values = {**EXAMPLE, "return_variance": 100.0, "td_error_mean": td_mean, "return_p50": 0.0}
    levels = judge({**values, "bellman_error": bellman}, rules())
    assert (levels["td_error_mean"], levels["bellman_error"]) == (td_level, bellman_level)
    scaled = {k: v * 1000 for k, v in values.items() if k != "v_return_correlation"}
    scaled |= {"return_variance": 100.0e6, "bellman_error": bellman * 1e6}
    scaled["v_return_correlation"] = values["v_return_correlation"]
    again = judge(scaled, rules())
    assert (again["td_error_mean"], again["bellman_error"]) == (td_level, bellman_level)


def test_return_shape_is_information_unless_the_config_sets_it() -> None:
    lopsided = {**EXAMPLE, "return_skewness": -3.0, "return_variance": 1e6}
    levels = judge(lopsided, rules())
    assert levels["return_skewness"] is levels["return_variance"] is Level.INFO
    assert levels["return_spread"] is Level.INFO
    own = judge(lopsided, rules(explicit=frozenset({"return_skewness"})))
    assert own["return_skewness"] is Level.CRITICAL


def test_config_preset_and_explicit_override(tmp_path: Path) -> None:
    run = write(tmp_path / "run.jsonl", flat(CARTPOLE))
    config = tmp_path / "ci.toml"
    config.write_text('[thresholds]\npreset = "scale-free"\n', encoding="utf-8")
    assert status(run, "--config", str(config)) == "ok"
    assert status(run, "--config", str(config), "--preset", "default") == "critical"
    config.write_text(
        '[thresholds]\npreset = "scale-free"\nbellman_error = { warning = 1, critical = 1.5 }\n',
        encoding="utf-8",
    )
    assert status(run, "--config", str(config)) == "critical", "Bellman 1.6 >= 1.5, as set"


def test_thresholds_prints_the_scale_free_rules() -> None:
    proc = invoke(["thresholds", "--preset", "scale-free", "--no-config"])
    assert proc.returncode == 0, proc.stderr
    rows = {tuple(line.split()[:2]): line for line in proc.stdout.decode().splitlines()}
    assert rows[("preset", "scale-free")].split()[-1] == "--preset"
    for key, value in {
        ("td_bias", "warning"): "0.5",
        ("td_bias", "critical"): "1",
        ("bellman_ratio", "warning"): "0.25",
        ("bellman_ratio", "critical"): "1",
        ("value_fit", "warning"): "0.3",
        ("value_fit", "critical"): "0",
        ("value_fit", "tolerance"): "0.3",
        ("gate", "warmup"): "20",
        ("gate", "persist"): "2",
    }.items():
        assert rows[key].split()[2] == value
        assert "   # " in rows[key], "each level says why"
    assert rows[("return_skewness", "info")]
    assert ("td_error_mean", "warning") not in rows
    assert ("low_return_variance", "floor") not in rows, "no absolute floor under scale-free"
    default = invoke(["thresholds", "--no-config"]).stdout.decode()
    assert "td_bias" not in default and "preset" not in default


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["once", "-", "--preset", "tiny"], b"--preset must be one of"),
        (["thresholds", "--preset", "tiny"], b"--preset must be one of"),
    ],
)
def test_an_unknown_preset_is_a_usage_error(args: list[str], message: bytes) -> None:
    proc = invoke(args, input=b"")
    assert proc.returncode == 2
    assert message in proc.stderr


def test_an_unknown_preset_in_the_config_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "ci.toml"
    config.write_text('[thresholds]\npreset = "tiny"\n', encoding="utf-8")
    proc = invoke(["thresholds", "--config", str(config)])
    assert proc.returncode == 2
    assert b"thresholds.preset" in proc.stderr
