"""--fail-on's gate: a warm-up before it may fire, a level held for K updates, and what a
run's first record says about the rules that judge it."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import invoke, run_cli
from telemetry import dumps, flat

from value_diag.health import Preset, Rules, Status
from value_diag.replay import replay

HEADER: Final = dumps(
    {"value_diag_run": {"writer": "stable-baselines3", "version": "0", "rules": "scale-free"}}
)
"""The first line TelemetryWriter and the SB3 callback write."""

GOOD: Final = {
    "v_return_correlation": 0.9,
    "td_error_mean": 0.2,
    "td_error_std": 1.0,
    "bellman_error": 1.0,
    "return_p10": 35.0,
    "return_p50": 50.0,
    "return_p90": 65.0,
    "return_variance": 100.0,
    "return_skewness": 0.1,
    "explained_variance": 0.8,
    "value_mean": 49.5,
    "value_std": 9.0,
    "value_min": 20.0,
    "value_max": 80.0,
    "return_mean": 50.0,
}
"""A critic that predicts its returns: V-Fit about 0.8."""

BROKEN: Final = {
    **GOOD,
    "v_return_correlation": 0.05,
    "explained_variance": -1.5,
    "value_mean": 0.0,
    "value_std": 0.01,
    "value_min": -0.02,
    "value_max": 0.02,
}
"""A value head stuck near zero, far from returns of 50 +- 10."""


def run_file(tmp_path: Path, *updates: dict[str, Any], header: bool = True) -> Path:
    path = tmp_path / "run.jsonl"
    lines = [HEADER] if header else []
    lines += [flat({**u, "step": 100 * (i + 1)}) for i, u in enumerate(updates)]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def once_json(path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = invoke(["once", str(path), "-f", "json", "--fail-on", "critical", *args])
    return proc.returncode, json.loads(proc.stdout), proc.stderr.decode()


SCALE_FREE: Final = Rules(preset=Preset.SCALE_FREE, preset_from="--preset")


# --- replay: what each update showed and what the gate let through ---------------------------


def test_a_critic_broken_at_the_start_shows_critical_but_fires_after_the_warm_up(
    tmp_path: Path,
) -> None:
    warmup, _ = SCALE_FREE.gate
    path = run_file(tmp_path, *[BROKEN] * (warmup + 3))
    steps = list(replay(str(path), SCALE_FREE))
    assert [s.update for s in steps] == list(range(1, warmup + 4))
    assert {s.shown for s in steps} == {Status.CRITICAL}
    fired = [s.fired for s in steps]
    assert fired == [Status.OK] * warmup + [Status.CRITICAL] * 3


def test_the_warm_up_ends_once_the_critic_has_been_ok_for_as_long_as_an_alarm_must_hold(
    tmp_path: Path,
) -> None:
    # a critic that needs three updates to find the returns, then breaks
    path = run_file(tmp_path, BROKEN, BROKEN, BROKEN, GOOD, GOOD, BROKEN, BROKEN, BROKEN)
    steps = list(replay(str(path), SCALE_FREE))
    assert [s.warming for s in steps] == [True] * 5 + [False] * 3
    assert [s.fired for s in steps] == [Status.OK] * 6 + [Status.CRITICAL] * 2


def test_one_ok_update_by_chance_does_not_end_the_warm_up(tmp_path: Path) -> None:
    path = run_file(tmp_path, BROKEN, GOOD, BROKEN, BROKEN, BROKEN)
    steps = list(replay(str(path), SCALE_FREE))
    assert all(s.warming for s in steps)
    assert {s.fired for s in steps} == {Status.OK}


def test_one_bad_update_does_not_fire_two_in_a_row_do(tmp_path: Path) -> None:
    path = run_file(tmp_path, *[GOOD] * 5, BROKEN, GOOD, BROKEN, BROKEN, GOOD)
    steps = list(replay(str(path), SCALE_FREE))
    assert len(steps) == 10
    assert [s.shown for s in steps][5:9] == [Status.CRITICAL, Status.OK, Status.CRITICAL] * 1 + [
        Status.CRITICAL
    ]
    assert [s.fired for s in steps] == [Status.OK] * 8 + [Status.CRITICAL, Status.OK]


def test_a_nan_fires_at_once_even_in_the_warm_up(tmp_path: Path) -> None:
    path = run_file(tmp_path, {**GOOD, "bellman_error": math.nan})
    [step] = list(replay(str(path), SCALE_FREE))
    assert step.fired is Status.CRITICAL


@pytest.mark.parametrize(
    "impossible",
    [{"return_variance": -4.0}, {"v_return_correlation": 1.5}, {"bellman_error": -100.0}],
    ids=["variance", "correlation", "bellman"],
)
def test_an_impossible_value_fires_at_once_even_in_the_warm_up(
    tmp_path: Path, impossible: dict[str, float]
) -> None:
    """A value no rollout can give means a broken writer: waiting will not mend it."""
    path = run_file(tmp_path, {**GOOD, **impossible})
    [step] = list(replay(str(path), SCALE_FREE))
    assert step.warming and step.fired is Status.CRITICAL
    code, frame, _err = once_json(path)
    assert code == 1 and frame["gate"]["why"] == "a metric has a value no rollout can give"


def test_a_critic_whose_weights_jumped_fires_at_once_after_the_warm_up(tmp_path: Path) -> None:
    """Weights that moved more than their own size were replaced or blown up: a reading of
    the weights, not of a rollout, so the gate does not wait for a second update."""
    moved = {**GOOD, "critic_change": 0.05}
    jumped = {**GOOD, "critic_change": 40.0}
    path = run_file(tmp_path, moved, moved, moved, jumped)
    steps = list(replay(str(path), SCALE_FREE))
    assert [s.warming for s in steps] == [True, True, False, False]
    assert [s.fired for s in steps] == [Status.OK] * 3 + [Status.CRITICAL]
    code, frame, _err = once_json(path)
    assert code == 1 and frame["gate"]["why"] == "the critic's weights were replaced"
    # in the warm-up, where a small initialisation may still move far, it is shown only
    early = run_file(tmp_path, moved, jumped, moved)
    steps = list(replay(str(early), SCALE_FREE))
    assert steps[1].shown is Status.CRITICAL and {s.fired for s in steps} == {Status.OK}
    # a move under the weights' own size is a training step
    trained = run_file(tmp_path, moved, moved, moved, {**GOOD, "critic_change": 0.9})
    assert {s.fired for s in replay(str(trained), SCALE_FREE)} == {Status.OK}


def test_persistence_of_one_and_no_warm_up_fire_on_every_frame(tmp_path: Path) -> None:
    path = run_file(tmp_path, GOOD, BROKEN, GOOD)
    rules = dataclasses.replace(SCALE_FREE, warmup=0, persist=1)
    assert [s.fired for s in replay(str(path), rules)] == [
        Status.OK,
        Status.CRITICAL,
        Status.OK,
    ]


def test_the_default_preset_keeps_the_seed_gate(tmp_path: Path) -> None:
    path = run_file(tmp_path, BROKEN, header=False)
    [step] = list(replay(str(path), Rules()))
    assert step.shown is step.fired is Status.CRITICAL


# --- through the console script --------------------------------------------------------------


def test_once_exits_1_only_when_the_level_has_held(tmp_path: Path) -> None:
    code, frame, err = once_json(run_file(tmp_path, *[GOOD] * 4, BROKEN))
    assert frame["status"] == "critical"
    assert code == 0, err
    assert frame["gate"] == {
        "level": "ok",
        "updates": 5,
        "held": 1,
        "warming_up": False,
        "why": "critical for 1 of 2 updates",
    }
    code, frame, err = once_json(run_file(tmp_path, *[GOOD] * 4, BROKEN, BROKEN))
    assert code == 1
    assert frame["gate"]["level"] == "critical" and frame["gate"]["held"] == 2
    assert "reached critical (--fail-on critical, 2 updates in a row): TD Mean, V-Fit" in err


def test_a_level_shown_but_not_fired_is_said_on_stderr(tmp_path: Path) -> None:
    """A frame that says critical while the exit code says 0 says why on stderr, in every
    format: the level has not held yet, or the run is warming up."""
    path = run_file(tmp_path, *[GOOD] * 4, BROKEN)
    for fmt in ("text", "json", "markdown", "github"):
        proc = invoke(["once", str(path), "--fail-on", "critical", "--format", fmt])
        assert proc.returncode == 0
        assert proc.stderr.decode() == (
            f"value-diag: {path} is critical, not fired by --fail-on critical:"
            " critical for 1 of 2 updates\n"
        ), fmt
    warming = run_file(tmp_path, BROKEN, BROKEN)
    proc = invoke(["once", str(warming), "--fail-on", "warning"])
    assert (proc.returncode, proc.stderr.decode()) == (
        0,
        f"value-diag: {warming} is critical, not fired by --fail-on warning:"
        " warm-up: update 2 of at most 20, not yet ok 2 in a row\n",
    )
    # nothing said when the frame is below the level asked for, or the level fired
    quiet = run_file(tmp_path, *[GOOD] * 5)
    assert invoke(["once", str(quiet), "--fail-on", "warning"]).stderr == b""
    fired = invoke(
        ["once", str(run_file(tmp_path, *[GOOD] * 4, BROKEN, BROKEN)), "--fail-on", "critical"]
    )
    assert b"not fired" not in fired.stderr and fired.returncode == 1


def test_once_in_the_warm_up_passes_and_says_so(tmp_path: Path) -> None:
    code, frame, _ = once_json(run_file(tmp_path, BROKEN, BROKEN))
    assert (code, frame["status"]) == (0, "critical")
    assert frame["gate"]["warming_up"] is True
    assert frame["gate"]["why"] == "warm-up: update 2 of at most 20, not yet ok 2 in a row"
    code, _, _ = once_json(run_file(tmp_path, BROKEN, BROKEN), "--warmup", "0", "--persist", "2")
    assert code == 1


def test_the_run_header_picks_the_scale_free_rules_and_says_why(tmp_path: Path) -> None:
    path = run_file(tmp_path, *[GOOD] * 4)
    _, frame, _ = once_json(path)
    assert frame["rules"] == {
        "preset": "scale-free",
        "why": "written by stable-baselines3",
        "warmup": 20,
        "persist": 2,
    }
    _, frame, _ = once_json(path, "--preset", "default")
    assert frame["rules"]["preset"] == "default" and frame["rules"]["why"] == "--preset"
    _, frame, _ = once_json(run_file(tmp_path, *[GOOD] * 4, header=False))
    assert frame["rules"] == {"preset": "default", "why": "default", "warmup": 0, "persist": 1}


def test_the_caption_names_the_rules_of_a_run_that_chose_them(tmp_path: Path) -> None:
    text = invoke(["once", str(run_file(tmp_path, *[GOOD] * 4))]).stdout.decode()
    assert "scale-free (written by stable-baselines3)" in text.splitlines()[0]


def test_a_second_run_in_the_same_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    first = [flat({**BROKEN, "step": s}) for s in (1, 2, 3, 4, 5)]
    second = [flat({**GOOD, "step": s}) for s in (1, 2)]
    path.write_bytes(b"".join(x + b"\n" for x in [HEADER, *first, HEADER, *second]))
    code, frame, _ = once_json(path)
    assert (code, frame["status"], frame["gate"]["updates"]) == (0, "ok", 2)


def test_thresholds_prints_the_gate_in_force() -> None:
    out = invoke(["thresholds", "--no-config", "--warmup", "7"]).stdout.decode()
    rows = {tuple(line.split()[:3]): line for line in out.splitlines()}
    assert ("gate", "warmup", "7") in rows and rows[("gate", "warmup", "7")].split()[
        3
    ] == "--warmup"
    assert ("gate", "persist", "1") in rows


def test_watch_fires_on_stdin_only_once_the_level_has_held(tmp_path: Path) -> None:
    blip = run_file(tmp_path, *[GOOD] * 4, BROKEN)
    proc = run_cli(["watch", "-", "-f", "json", "--fail-on", "critical"], input=blip.read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode() == (  # the stream ended on a level held back: said why
        "value-diag: <stdin> is critical, not fired by --fail-on critical:"
        " critical for 1 of 2 updates\n"
    )
    held = run_file(tmp_path, *[GOOD] * 4, BROKEN, BROKEN)
    # the first good update ends the warm-up: two bad ones in a row after it fire
    proc = run_cli(["watch", "-", "-f", "json", "--fail-on", "critical"], input=held.read_bytes())
    assert proc.returncode == 1
    assert b"2 updates in a row" in proc.stderr


def test_watch_stopped_on_a_level_held_back_says_why(
    tmp_path: Path, spawn: Callable[..., Any]
) -> None:
    import signal

    run_file(tmp_path, *[GOOD] * 4, BROKEN)
    w = spawn("run.jsonl", "-f", "json", "--fail-on", "critical")
    assert w.frame()["status"] == "critical"
    w.send(signal.SIGINT)
    assert w.wait() == 0, w.stderr
    assert w.stderr.splitlines()[-1] == (
        "value-diag: run.jsonl is critical, not fired by --fail-on critical:"
        " critical for 1 of 2 updates"
    )


def test_a_config_sets_the_gate_and_the_command_line_overrides_it(tmp_path: Path) -> None:
    config = tmp_path / "ci.toml"
    config.write_text("[thresholds]\ngate = { warmup = 0, persist = 1 }\n", encoding="utf-8")
    run = run_file(tmp_path, BROKEN)
    code, frame, _ = once_json(run, "--config", str(config))
    assert code == 1 and frame["rules"]["warmup"] == 0 and frame["rules"]["persist"] == 1
    code, frame, _ = once_json(run, "--config", str(config), "--warmup", "5")
    assert code == 0 and frame["rules"]["warmup"] == 5
    out = invoke(["thresholds", "--config", str(config)]).stdout.decode()
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines()}
    assert rows[("gate", "persist")][2:4] == ["1", f"{config}:"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("gate = { persist = 0 }", "thresholds.gate.persist: must be a whole number from 1 to 50"),
        ("gate = { warmup = 2.5 }", "thresholds.gate.warmup: must be a whole number from 0 to"),
        ("gate = { wait = 3 }", "thresholds.gate.wait: unknown key (known: warmup, persist)"),
        ("gate = 3", "thresholds.gate: must be a table like { warmup = 20, persist = 2 }"),
    ],
)
def test_a_bad_gate_in_the_config_is_refused(tmp_path: Path, entry: str, message: str) -> None:
    config = tmp_path / "ci.toml"
    config.write_text(f"[thresholds]\n{entry}\n", encoding="utf-8")
    proc = invoke(["thresholds", "--config", str(config)])
    assert proc.returncode == 2
    assert message in proc.stderr.decode()


def test_an_alarming_v_fit_is_said_under_the_panel_with_its_number(tmp_path: Path) -> None:
    run = run_file(tmp_path, *[GOOD] * 4, BROKEN)
    text = invoke(["once", str(run)]).stdout.decode().splitlines()
    fit = next(line for line in text if line.startswith("V-Fit"))
    assert fit.startswith("V-Fit -") and " critical: " in fit
    assert float(fit.split()[1]) < 0
    assert not any(line.startswith("V-Fit") for line in text[:6]), "after the five lines"
    shown = invoke(["once", str(run), "--critic"]).stdout.decode().splitlines()
    assert not any(line.startswith("V-Fit") for line in shown), "--critic shows it beside Calib"
    assert any(line.startswith("Calib") and "V-Fit" in line for line in shown)
    healthy = invoke(["once", str(run_file(tmp_path, *[GOOD] * 4))]).stdout.decode()
    assert "V-Fit" not in healthy, "only when it alarms"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("markdown", "| V-Fit | -"), ("github", "::error title=value-diag%3A V-Fit critical::")],
)
def test_reports_list_v_fit_under_the_scale_free_rules(
    tmp_path: Path, fmt: str, expected: str
) -> None:
    out = invoke(["once", str(run_file(tmp_path, BROKEN)), "-f", fmt]).stdout.decode()
    assert expected in out
    seed = invoke(["once", str(run_file(tmp_path, BROKEN, header=False)), "-f", fmt])
    assert "V-Fit" not in seed.stdout.decode(), "the default preset does not judge it"
