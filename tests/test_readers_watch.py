"""`value-diag watch` over what trainers already log, followed live as they grow, through
the real console script: SB3 appends rows to progress.csv, SummaryWriter appends records
to its event file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from needs import need
from trainer_logs import OURS, SB3_CSV, VERL, framed, hide_tensorboard, rlib_result
from watching import Json, Spawn, append


def _ev(frame: Json) -> Any:
    return frame["critic"]["explained_variance"]["value"]


def test_a_growing_progress_csv_is_followed(spawn: Spawn, tmp_path: Path) -> None:
    run = tmp_path / "runs" / "PPO_1" / "progress.csv"
    run.parent.mkdir(parents=True)
    rows = SB3_CSV.splitlines(keepends=True)
    run.write_text("".join(rows[:3]))  # the header and two dumps: rollout 1's numbers
    w = spawn("runs", "--critic", "--format", "json")
    first = w.frame()
    assert (first["name"], first["records"], _ev(first), first["step"]) == (
        "runs/PPO_1",
        1,
        0.25,
        128,
    )
    assert first["cannot_give"]["source"] == "Stable-Baselines3 progress.csv"
    append(run, rows[3][:10])  # a row being written: not read yet
    append(run, rows[3][10:])
    later = w.frame(lambda f: f["records"] == 2)
    assert (_ev(later), later["step"]) == (0.5, 256)
    # Rewritten from the top (a new run in the same folder): read again from its first row.
    run.write_text(rows[0] + "900,1,64,,\n880,2,128,0.875,1.0\n")
    again = w.frame(lambda f: f["records"] == 1)
    assert (_ev(again), again["step"]) == (0.875, 64)
    # A run that starts later in the folder is followed too, named by its folder.
    (tmp_path / "runs" / "PPO_2").mkdir()
    (tmp_path / "runs" / "PPO_2" / "progress.csv").write_text(SB3_CSV)
    new = w.frame(lambda f: f["name"] == "PPO_2")
    assert (new["records"], _ev(new)) == (2, 0.5)


def test_a_growing_event_file_is_followed(spawn: Spawn, tmp_path: Path) -> None:
    need("tensorboard")
    tb = need("torch.utils.tensorboard")
    writer = tb.SummaryWriter(str(tmp_path / "runs" / "seed_1"))
    try:
        writer.add_scalar("losses/explained_variance", 0.25, 128)
        writer.flush()
        w = spawn("runs", "--critic", "--format", "json")
        first = w.frame(lambda f: f["records"] == 1)
        assert (first["name"], _ev(first), first["step"]) == ("runs/seed_1", 0.25, 128)
        writer.add_scalar("losses/explained_variance", 0.5, 256)
        writer.flush()
        later = w.frame(lambda f: f["records"] == 2)
        assert (_ev(later), later["step"]) == (0.5, 256)
    finally:
        writer.close()


def test_a_growing_result_json_keeps_its_modules_apart(spawn: Spawn, tmp_path: Path) -> None:
    result = tmp_path / "trial" / "result.json"
    result.parent.mkdir()
    result.write_text(rlib_result(1, {"a": 0.1, "b": 0.2}))
    w = spawn("trial/result.json", "--critic", "--format", "json")
    seen = {f["name"]: _ev(f) for f in (w.frame(), w.frame())}
    assert seen == {"trial#a": 0.1, "trial#b": 0.2}
    append(result, rlib_result(2, {"a": 0.3, "b": 0.4}))
    a = w.frame(lambda f: f["name"] == "trial#a" and f["records"] == 2)
    assert (_ev(a), a["step"]) == (0.3, 8000)


def test_without_the_extra_the_note_names_it(spawn: Spawn, tmp_path: Path) -> None:
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "events.out.tfevents.1.host").write_bytes(framed(b"\x09" + bytes(8)))
    w = spawn("tb", "--format", "json", env=hide_tensorboard(tmp_path))
    frame = w.frame(lambda f: f["note"] is not None)
    assert frame["note"] == (
        "read error: reading TensorBoard event files needs the tensorboard package:"
        " pip install 'value-diag[tensorboard]' (or pip install tensorboard); retrying"
    )


def test_a_verl_file_is_told_by_its_first_line_once_whole(spawn: Spawn, tmp_path: Path) -> None:
    run = tmp_path / "runs" / "experiment.jsonl"
    run.parent.mkdir()
    run.write_bytes(VERL[:20])  # verl's first line, being written
    w = spawn("runs", "--critic", "--format", "json")
    append(run, VERL[20:])
    first = w.frame(lambda f: f["records"] == 1)
    assert (first["name"], _ev(first), first["critic"]["value_mean"]["value"]) == (
        "runs/experiment.jsonl",
        0.625,
        1.25,
    )
    assert first["cannot_give"]["source"] == "verl file logger"
    append(run, VERL.replace(b'"step": 7', b'"step": 8').replace(b"0.625", b"0.75"))
    later = w.frame(lambda f: f["records"] == 2)
    assert (_ev(later), later["step"]) == (0.75, 8)


def test_on_a_terminal_the_hook_starts_a_line_of_its_own(
    ptys: Callable[..., Any], tmp_path: Path
) -> None:
    """In a panel too narrow for the statement, its two sentences take a line each, so the
    hook is on screen however the first is cut."""
    (tmp_path / "PPO_1").mkdir()
    (tmp_path / "PPO_1" / "progress.csv").write_text(SB3_CSV)
    term = ptys("watch", "PPO_1/progress.csv", cwd=tmp_path, cols=100, rows=30)
    shown = term.settled(lambda d: any("The hook that would" in line for line in d), "the hook")
    rows = [line.strip("│ ") for line in shown]
    said = next(i for i, line in enumerate(rows) if line.startswith("Stable-Baselines3"))
    assert rows[said].startswith("Stable-Baselines3 progress.csv cannot give the nine")
    assert rows[said + 1].startswith(
        "The hook that would: callback=ValueDiagnosticsCallback('run.jsonl') in model.learn"
    )


def test_the_table_says_which_runs_are_logs_that_cannot_give_the_nine(
    ptys: Callable[..., Any], tmp_path: Path
) -> None:
    """A row per run: a trainer's log whose nine are blank says so in its why (its detail
    view has the whole statement); a run of value-diag's own lines does not."""
    for seed in ("PPO_1", "PPO_2"):
        (tmp_path / "runs" / seed).mkdir(parents=True)
        (tmp_path / "runs" / seed / "progress.csv").write_text(SB3_CSV)
    (tmp_path / "runs" / "ours.jsonl").write_bytes(OURS)
    term = ptys("watch", "runs", "--table", cwd=tmp_path, cols=100, rows=20)
    screen = term.settled(lambda d: any("3 runs" in line for line in d), "the table")
    rows = {
        line.split()[0]: line
        for line in screen
        if line.split()[:1] in (["PPO_1"], ["PPO_2"], ["ours.jsonl"])
    }
    assert set(rows) == {"PPO_1", "PPO_2", "ours.jsonl"}, screen
    assert "cannot give the nine" in rows["PPO_1"] and "cannot give the nine" in rows["PPO_2"]
    assert "cannot give" not in rows["ours.jsonl"]
    assert term.finish() == 0
