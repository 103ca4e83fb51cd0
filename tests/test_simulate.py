"""simulate.py: each scenario ends as intended, all three formats read back, runs are seeded."""

from __future__ import annotations

import dataclasses
import json
import math
import random
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, clean_env, invoke, script

from value_diag.producer.metrics import CRITIC_FIELDS, FIT_FIELDS, compute_value_metrics
from value_diag.producer.simulate import (
    N_ENVS,
    PROFILES,
    LogFormat,
    Scenario,
    SimOptions,
    batches,
    metric_series,
    rollout,
    run,
)
from value_diag.schema import VALUE_FIELDS

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def once_json(path: Path) -> dict[str, Any]:
    proc = invoke(["once", str(path), "--format", "json"])
    assert proc.returncode == 0, proc.stderr
    frame: dict[str, Any] = json.loads(proc.stdout)
    assert frame["bad_lines"] == 0, frame["last_error"]
    return frame


def values_of(frame: dict[str, Any]) -> dict[str, Any]:
    return {name: frame["value_function"][name]["value"] for name in VALUE_FIELDS}


# --- scenarios, through `once` -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "status", "compile_level"),
    [
        (Scenario.HEALTHY, "ok", "ok"),
        (Scenario.COLLAPSE, "critical", "ok"),
        (Scenario.BIMODAL, "warning", "ok"),
        (Scenario.EAGER, "warning", "warning"),
    ],
)
def test_each_scenario_ends_with_its_status(
    tmp_path: Path, scenario: Scenario, status: str, compile_level: str
) -> None:
    path = tmp_path / "run.jsonl"
    written = run(str(path), SimOptions(scenario, updates=12, seed=99))
    frame = once_json(path)
    assert frame["records"] == written == 13, "TRAINING_STARTED and twelve updates"
    assert frame["status"] == status
    assert frame["infrastructure"]["level"] == compile_level
    levels = {name: entry["level"] for name, entry in frame["value_function"].items()}
    if scenario is Scenario.BIMODAL:
        assert levels["return_spread"] == levels["return_variance"] == "warning"
        assert levels["return_skewness"] == "warning"
        assert levels["v_return_correlation"] == "ok"
    if scenario in (Scenario.HEALTHY, Scenario.EAGER):
        assert set(levels.values()) <= {"ok", "info"}


def test_collapse_ends_in_nan_and_infinity_after_a_finite_decline(tmp_path: Path) -> None:
    series = [m for m, _ in metric_series(Scenario.COLLAPSE, 30)]
    finite = series[:-1]
    assert all(math.isfinite(getattr(m, n)) for m in finite for n in VALUE_FIELDS)
    assert finite[0].v_return_correlation > 0.8 > 0.3 > finite[-1].v_return_correlation
    assert finite[-1].bellman_error > 50 and finite[-1].td_error_mean > 15
    last = series[-1]
    assert math.isnan(last.v_return_correlation) and math.isnan(last.bellman_error)
    assert last.td_error_std == math.inf


def test_healthy_value_head_learns() -> None:
    series = [m for m, _ in metric_series(Scenario.HEALTHY, 40)]
    assert series[0].v_return_correlation < 0.5 < 0.8 < series[-1].v_return_correlation
    assert series[0].bellman_error > 50 > 20 > series[-1].bellman_error


def test_the_metrics_are_compute_value_metrics_of_the_rollouts() -> None:
    scenario, seed = Scenario.BIMODAL, 5
    rng = random.Random(seed)
    first = compute_value_metrics(*rollout(rng, PROFILES[scenario], 0.0, 256))
    second = compute_value_metrics(*rollout(rng, PROFILES[scenario], 0.5, 256))
    series = [m for m, _ in metric_series(scenario, 3, seed)]
    for want, got in ((first, series[0]), (second, series[1])):
        for name in VALUE_FIELDS:
            assert getattr(got, name) == pytest.approx(getattr(want, name), rel=1e-12), name


# --- formats -----------------------------------------------------------------------------------


def test_the_three_formats_carry_the_same_metrics(tmp_path: Path) -> None:
    frames = {}
    for fmt in LogFormat:
        path = tmp_path / f"{fmt.value}.jsonl"
        written = run(str(path), SimOptions(Scenario.COLLAPSE, updates=6, seed=3, format=fmt))
        frames[fmt] = once_json(path)
        assert frames[fmt]["records"] == written
    assert [frames[f]["records"] for f in LogFormat] == [7, 8, 6], "flat: a run header too"
    want = values_of(frames[LogFormat.ESPER])
    assert want["v_return_correlation"] == "NaN" and want["td_error_std"] == "Infinity"
    for fmt in LogFormat:
        assert values_of(frames[fmt]) == want, fmt
        infra = frames[fmt]["infrastructure"]
        assert (infra["compile_backend"], infra["compile_mode"]) == ("inductor", "max-autotune")


def test_esper_lines_look_like_a_real_log(tmp_path: Path) -> None:
    options = SimOptions(Scenario.EAGER, updates=3, start=START)
    events = [e for batch in batches(options, lambda s: START) for e in batch]
    kinds = [e["event_type"] for e in events]
    assert (
        kinds
        == ["TRAINING_STARTED"] + (["EPOCH_COMPLETED"] * N_ENVS + ["PPO_UPDATE_COMPLETED"]) * 3
    )
    started = events[0]["data"]
    assert (started["compile_enabled"], started["compile_backend"], started["compile_mode"]) == (
        False,
        None,
        None,
    )
    ppo = events[-1]["data"]
    assert set(VALUE_FIELDS) <= set(ppo)
    assert len(ppo) > 100, "the whole esper-lite payload, not only the nine"
    assert len({e["event_id"] for e in events}) == len(events)


def test_flat_format_is_what_telemetry_writer_writes(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    run(str(path), SimOptions(Scenario.HEALTHY, updates=2, format=LogFormat.FLAT))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    header = lines[0]["value_diag_run"]
    assert (header["writer"], header["rules"]) == ("TelemetryWriter", "scale-free")
    assert lines[1] == {
        "compile_enabled": True,
        "compile_backend": "inductor",
        "compile_mode": "reduce-overhead",
    }
    want = ["step", *VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS, "samples"]
    assert [list(line) for line in lines[2:]] == [want] * 2


def test_only_the_flat_format_starts_with_a_run_header(tmp_path: Path) -> None:
    for fmt in LogFormat:
        path = tmp_path / f"{fmt.value}.jsonl"
        run(str(path), SimOptions(Scenario.HEALTHY, updates=1, format=fmt, start=START))
        first = json.loads(path.read_text().splitlines()[0])
        assert ("value_diag_run" in first) is (fmt is LogFormat.FLAT), fmt
        if fmt is LogFormat.FLAT:
            assert first["value_diag_run"]["started"] == START.timestamp()


def test_a_run_emptied_first_and_then_paced_stops_when_asked(tmp_path: Path) -> None:
    """With a long interval, the run stops at once when asked, after what it had written."""
    path = tmp_path / "run.jsonl"
    path.write_text("old contents\n" * 100)
    stop = threading.Event()
    seen: list[int] = []

    def after_batch(written: int) -> None:
        seen.append(written)
        stop.set()

    written = run(str(path), SimOptions(updates=50, interval=3600.0), stop, after_batch)
    assert seen == [2] and written == 2, "TRAINING_STARTED and the first update"
    assert "old contents" not in path.read_text()


# --- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(LogFormat))
def test_same_seed_same_file_other_seed_other_file(tmp_path: Path, fmt: LogFormat) -> None:
    options = SimOptions(Scenario.BIMODAL, updates=5, seed=42, format=fmt, start=START)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    run(str(a), options)
    run(str(b), options)
    run(str(c), dataclasses.replace(options, seed=43))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_the_real_clock_changes_timestamps_only(tmp_path: Path) -> None:
    options = SimOptions(Scenario.HEALTHY, updates=3, seed=1)
    a, b = tmp_path / "a", tmp_path / "b"
    run(str(a), options)
    run(str(b), dataclasses.replace(options, start=START))

    def without_time(path: Path) -> list[dict[str, Any]]:
        events = [json.loads(line) for line in path.read_text().splitlines()]
        assert all("timestamp" in e for e in events)
        return [{k: v for k, v in e.items() if k != "timestamp"} for e in events]

    assert a.read_bytes() != b.read_bytes()
    assert without_time(a) == without_time(b)


def test_bundled_samples_are_what_generate_writes(tmp_path: Path) -> None:
    """sample_logs/ is reproducible: generate.py writes byte-identical files."""
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / "generate.py"), "--out", str(tmp_path)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    names = sorted(p.name for p in tmp_path.glob("*.jsonl"))
    assert names == sorted(p.name for p in SAMPLES.glob("*.jsonl"))
    assert len(names) == 6
    for name in names:
        bundled = (SAMPLES / name).read_bytes()
        assert (tmp_path / name).read_bytes() == bundled, name
        assert len(bundled) < 500_000, f"{name} stays small"
    ab = (SAMPLES / "ab" / "events.jsonl").read_bytes()  # esper's A/B layout: a run folder
    assert (tmp_path / "ab" / "events.jsonl").read_bytes() == ab
    assert len(ab) < 800_000


# --- the command ---------------------------------------------------------------------------------


def test_simulate_command_writes_a_readable_run(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    proc = invoke(
        ["simulate", str(path), "--scenario", "bimodal", "--updates", "8", "--interval", "0",
         "--format", "flat", "--seed", "7"]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == [
        f"value-diag: writing a simulated bimodal run to {path}: 8 updates,"
        " as fast as they can be written",
        f"value-diag: done in {proc.stderr.decode().split('done in ')[1].split(' s:')[0]} s:"
        f" 10 records written to {path}",
    ]
    frame = once_json(path)
    assert frame["records"] == 10, "the run header, the compile status and eight updates"
    direct = tmp_path / "direct.jsonl"
    run(str(direct), SimOptions(Scenario.BIMODAL, updates=8, seed=7, format=LogFormat.FLAT))
    (header, *lines), (direct_header, *direct_lines) = (
        p.read_bytes().splitlines() for p in (path, direct)
    )
    assert lines == direct_lines
    # The run header says when each run started, by the real clock: that alone differs.
    started = [json.loads(h)["value_diag_run"].pop("started") for h in (header, direct_header)]
    assert started[0] <= started[1]
    assert json.loads(header)["value_diag_run"].keys() == {"writer", "version", "rules", "started"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope"], "--scenario must be one of healthy, collapse, bimodal, eager"),
        (["--format", "csv"], "--format must be one of esper, flat, snapshot"),
        (["--updates", "0"], "--updates must be a whole number from 1 to 1000000, not '0'"),
        (["--force", "--append"], "--force and --append cannot go together"),
    ],
)
def test_simulate_command_refuses_bad_options(
    tmp_path: Path, args: list[str], message: str
) -> None:
    proc = invoke(["simulate", str(tmp_path / "run.jsonl"), *args])
    assert proc.returncode == 2
    assert message in proc.stderr.decode()
    assert not (tmp_path / "run.jsonl").exists()


def test_simulate_command_names_an_unwritable_path(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "run.jsonl"
    proc = invoke(["simulate", str(target), "--interval", "0"])
    assert proc.returncode == 2
    assert proc.stderr.decode() == f"value-diag: error: cannot write {target}: " + (
        "No such file or directory\n"
    )


# --- an existing file -------------------------------------------------------------------------


OLD_LOG = "".join(f'{{"step": {i}, "bellman_error": 1.0}}\n' for i in range(301))


def test_a_file_that_holds_anything_is_left_alone(tmp_path: Path) -> None:
    """`simulate` is a typo away from `watch`: a run's log is never emptied by default."""
    path = tmp_path / "myrun.jsonl"
    path.write_text(OLD_LOG)
    proc = invoke(["simulate", str(path), "--interval", "0", "--updates", "2"])
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert proc.stderr.decode() == (
        f"value-diag: error: {path} already holds 301 lines: add --force to overwrite it,"
        " or --append to write after it\n"
    )
    assert path.read_text() == OLD_LOG


def test_an_empty_file_is_written_without_asking(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    path.touch()
    proc = invoke(["simulate", str(path), "--interval", "0", "--updates", "2", "-q"])
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert once_json(path)["records"] == 3


def test_force_overwrites_and_append_writes_after(tmp_path: Path) -> None:
    forced, appended = tmp_path / "forced.jsonl", tmp_path / "appended.jsonl"
    forced.write_text(OLD_LOG)
    appended.write_text(OLD_LOG)
    base = ["--interval", "0", "--updates", "2", "--format", "flat"]
    proc = invoke(["simulate", str(forced), "--force", *base])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode().startswith(f"value-diag: overwriting {forced} with a simulated")
    assert "step" in forced.read_text() and OLD_LOG not in forced.read_text()
    assert len(forced.read_text().splitlines()) == 4
    proc = invoke(["simulate", str(appended), "--append", *base])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode().startswith("value-diag: appending a simulated collapse run to ")
    text = appended.read_text()
    assert text.startswith(OLD_LOG) and len(text.splitlines()) == 301 + 4


def test_a_paced_run_says_what_it_writes_before_it_ends(tmp_path: Path) -> None:
    """The first line comes at once, the last at Ctrl-C, with what the file holds."""
    path = tmp_path / "run.jsonl"
    with subprocess.Popen(
        [*script(), "simulate", str(path), "--interval", "3600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=clean_env(),
    ) as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline().decode()
        assert first == (
            f"value-diag: writing a simulated collapse run to {path}: 60 updates,"
            " one every 3600 s, about 59 h; Ctrl-C stops it\n"
        )
        assert proc.poll() is None, "still writing: the line came before the end"
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read().decode()
        assert proc.wait(timeout=30) == 0
    assert rest == f"value-diag: stopped after 1 of 60 updates: 2 records written to {path}\n"
