"""`value-diag once` over what trainers already log: SB3's progress.csv, TensorBoard event
files, Ray Tune's result.json and verl's JSON lines, found in folders and read by their
readers: in this process, and through the console script where a module is hidden from it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from conftest import invoke, run_cli
from needs import need
from trainer_logs import (
    OURS,
    SB3_CSV,
    SB3_CSV_SAID,
    VERL,
    framed,
    hide_tensorboard,
    rlib_result,
    sb3_ppo,
)

from value_diag.schema import VALUE_FIELDS


def _frames(proc: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def _by_name(frames: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in frames}


def _ev(frame: dict[str, Any]) -> float:
    value: float = frame["critic"]["explained_variance"]["value"]
    return value


def test_a_folder_of_sb3_runs_is_a_run_per_folder(tmp_path: Path) -> None:
    for seed, ev in (("PPO_1", "0.5"), ("PPO_2", "0.75")):
        (tmp_path / "runs" / seed).mkdir(parents=True)
        (tmp_path / "runs" / seed / "progress.csv").write_text(SB3_CSV.replace("0.5", ev))
    proc = invoke(["once", "runs", "--critic", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    frames = _by_name(_frames(proc))
    assert set(frames) == {"PPO_1", "PPO_2"}
    assert frames["PPO_1"]["source"] == "runs/PPO_1/progress.csv"
    # Each value at the step of the rollout it describes (row 3 at 384 describes 256).
    assert (_ev(frames["PPO_1"]), frames["PPO_1"]["step"]) == (0.5, 256)
    assert (_ev(frames["PPO_2"]), frames["PPO_2"]["records"]) == (0.75, 2)


def test_a_real_sb3_run_logging_csv_and_tensorboard(tmp_path: Path) -> None:
    """SB3 writes progress.csv and an event file in one folder: two runs, each named by
    its file, each with the explained variance SB3 computed from its last rollout but one."""
    seen = sb3_ppo(tmp_path / "logs" / "PPO_1", ["csv", "tensorboard"], rollouts=4, seed=1)
    proc = invoke(["once", "logs", "--critic", "--format", "json"], cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    frames = _by_name(_frames(proc))
    (events,) = (name for name in frames if name.startswith("events.out.tfevents."))
    assert set(frames) == {"progress.csv", events}
    step, ev = seen[-2]  # the last rollout's numbers are never written
    assert (frames["progress.csv"]["step"], _ev(frames["progress.csv"])) == (step, ev)
    assert frames[events]["step"] == step
    assert math.isclose(_ev(frames[events]), ev, rel_tol=1e-6, abs_tol=1e-6)  # float32


def test_a_tensorboard_log_dir_is_a_run_per_subfolder(tmp_path: Path) -> None:
    """CleanRL's layout: runs/<run name>/events.out.tfevents.*, written by SummaryWriter."""
    need("tensorboard")
    tb = need("torch.utils.tensorboard")
    for run, ev in (("CartPole__ppo__1", 0.25), ("CartPole__ppo__2", 0.5)):
        writer = tb.SummaryWriter(str(tmp_path / "runs" / run))
        for update in (1, 2):
            writer.add_scalar("charts/learning_rate", 2.5e-4, 128 * update)
            writer.add_scalar("losses/explained_variance", ev * update, 128 * update)
        writer.close()
    proc = invoke(["once", "runs", "--critic", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    frames = _by_name(_frames(proc))
    assert {n: (_ev(f), f["step"]) for n, f in frames.items()} == {
        "CartPole__ppo__1": (0.5, 256),
        "CartPole__ppo__2": (1.0, 256),
    }


def test_what_an_event_file_gives_is_what_this_run_logged(tmp_path: Path) -> None:
    """TensorBoard files may hold the value statistics (verl's do); CleanRL's and SB3's hold
    the explained variance alone, and the statement says so of such a run."""
    need("tensorboard")
    tb = need("torch.utils.tensorboard")
    writer = tb.SummaryWriter(str(tmp_path / "runs" / "CartPole__ppo__1"))
    writer.add_scalar("losses/explained_variance", 0.5, 128)
    writer.close()
    proc = invoke(["once", "runs", "--critic", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    (frame,) = _frames(proc)
    said = frame["cannot_give"]
    assert said["gives"] == ["explained_variance"]
    assert said["cannot_give"] == [
        *VALUE_FIELDS,
        "value_mean",
        "value_std",
        "value_min",
        "value_max",
    ]
    text = invoke(["once", "runs", "--critic"], cwd=tmp_path, env={"COLUMNS": "400"})
    assert "V-Mean, V-Std, V-Min, V-Max; it gives EV" in text.stdout.decode()


def test_rllib_modules_are_runs_of_their_own(tmp_path: Path) -> None:
    trial = tmp_path / "tune" / "PPO_CartPole_00000"
    trial.mkdir(parents=True)
    text = rlib_result(1, {"learner_a": 0.1, "learner_b": 0.2})
    text += rlib_result(2, {"learner_a": 0.3, "learner_b": 0.4})
    (trial / "result.json").write_text(text)
    # Tune's CSV and TensorBoard copies of the same results: not runs of their own.
    (trial / "progress.csv").write_text("training_iteration,num_env_steps_sampled_lifetime\n")
    (trial / "events.out.tfevents.1.host").write_bytes(b"")
    proc = invoke(["once", "tune", "--critic", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    frames = _by_name(_frames(proc))
    assert {n: (_ev(f), f["step"], f["records"]) for n, f in frames.items()} == {
        "tune/PPO_CartPole_00000#learner_a": (0.3, 8000, 2),
        "tune/PPO_CartPole_00000#learner_b": (0.4, 8000, 2),
    }
    # One module alone is the trial's one run, named by its folder.
    (trial / "result.json").write_text(rlib_result(1, {"default_policy": 0.5}))
    proc = invoke(["once", "tune", "--critic", "--format", "json"], cwd=tmp_path)
    assert [(f["name"], _ev(f)) for f in _frames(proc)] == [("tune/PPO_CartPole_00000", 0.5)]


def test_verl_jsonl_is_told_from_value_diags_own(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "verl_experiment.jsonl").write_bytes(VERL)
    (tmp_path / "runs" / "ours.jsonl").write_bytes(OURS)
    proc = invoke(["once", "runs", "--critic", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    frames = _by_name(_frames(proc))
    verl, ours = frames["verl_experiment"], frames["ours"]
    assert (_ev(verl), verl["critic"]["value_mean"]["value"], verl["step"]) == (0.625, 1.25, 7)
    assert verl["cannot_give"]["source"] == "verl file logger"
    assert ours["value_function"]["v_return_correlation"]["value"] == 0.9
    assert "cannot_give" not in ours


def test_one_file_given_by_path(tmp_path: Path) -> None:
    (tmp_path / "PPO_3").mkdir()
    (tmp_path / "PPO_3" / "progress.csv").write_text(SB3_CSV)
    proc = invoke(["once", "PPO_3/progress.csv", "--critic", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    (frame,) = _frames(proc)
    assert (frame["name"], frame["records"], _ev(frame)) == ("PPO_3", 2, 0.5)


def test_the_panel_says_what_the_source_cannot_give(tmp_path: Path) -> None:
    (tmp_path / "progress.csv").write_text(SB3_CSV)
    proc = invoke(["once", "progress.csv"], cwd=tmp_path)
    out = proc.stdout.decode().splitlines()
    assert out[-1] == SB3_CSV_SAID
    # No metric the source cannot give is shown as a number, and nothing judged: no data.
    assert all(line.count("—") >= 1 for line in out[1:5])
    assert proc.returncode == 3
    as_json = invoke(["once", "progress.csv", "--format", "json"], cwd=tmp_path)
    (frame,) = _frames(as_json)
    assert frame["cannot_give"] == {
        "source": "Stable-Baselines3 progress.csv",
        "cannot_give": [*VALUE_FIELDS, "value_mean", "value_std", "value_min", "value_max"],
        "gives": ["explained_variance"],
        "hook": "callback=ValueDiagnosticsCallback('run.jsonl') in model.learn"
        " (value_diag.integrations.sb3)",
        "see": "README.md#where-the-three-inputs-are-in-your-trainer",
        "timing": "SB3 writes each rollout's EV a row late: it is moved back to its rollout,"
        " and the last rollout's is never written",
    }
    assert all(frame["value_function"][n]["value"] is None for n in VALUE_FIELDS)
    assert frame["hint"] is None  # not "no line names a known metric": it was read


def test_a_gate_does_not_pass_on_a_source_of_ev_alone(tmp_path: Path) -> None:
    """Without --critic nothing a progress.csv holds is judged: --fail-on says no data
    (exit 3), never ok."""
    (tmp_path / "progress.csv").write_text(SB3_CSV)
    proc = invoke(["once", "progress.csv", "--fail-on", "warning"], cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout.decode()
    assert proc.stdout.decode().startswith(
        "VALUE DIAGNOSTICS | no data | progress.csv | step 256 | 2 records"
    )


def test_without_the_extra_an_event_file_is_one_line_naming_it(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (runs / "tb").mkdir(parents=True)
    (runs / "tb" / "events.out.tfevents.1.host").write_bytes(framed(b"\x09" + bytes(8)))
    (runs / "csv").mkdir()
    (runs / "csv" / "progress.csv").write_text(SB3_CSV)
    env = hide_tensorboard(tmp_path)
    proc = run_cli(["once", "runs", "--critic", "--format", "json"], cwd=tmp_path, env=env)
    assert proc.stderr.decode().splitlines() == [
        "value-diag: error: cannot read runs/tb/events.out.tfevents.1.host: reading TensorBoard"
        " event files needs the tensorboard package: pip install 'value-diag[tensorboard]'"
        " (or pip install tensorboard)"
    ]
    assert [(f["name"], _ev(f)) for f in _frames(proc)] == [("csv", 0.5)]
    assert proc.returncode == 2  # a gate never passes what it could not read


def test_a_table_of_runs_says_it_once_under_the_table(tmp_path: Path) -> None:
    for seed in ("PPO_1", "PPO_2"):
        (tmp_path / "runs" / seed).mkdir(parents=True)
        (tmp_path / "runs" / seed / "progress.csv").write_text(SB3_CSV)
    (tmp_path / "runs" / "ours.jsonl").write_bytes(OURS)
    said = "Stable-Baselines3 progress.csv cannot give the nine value-function metrics"
    table = invoke(["once", "runs", "--compare", "--critic"], cwd=tmp_path).stdout.decode()
    (line,) = (x for x in table.splitlines() if said in x)
    assert line.startswith(f"PPO_1, PPO_2: {said}") and "(shown by --critic)" not in line
    page = invoke(["once", "runs", "--compare", "--format", "markdown"], cwd=tmp_path)
    assert f"\n\n`PPO_1`, `PPO_2`: {said}" in page.stdout.decode()
