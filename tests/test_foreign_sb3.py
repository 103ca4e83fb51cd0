"""SB3's progress.csv to flat lines: the one-rollout lag corrected, checked on real SB3 runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from trainer_logs import sb3_ppo

from value_diag.ingest.foreign.sb3_csv import read_progress_csv


def _run(tmp_path: Path, log_interval: int, rollouts: int) -> tuple[str, list[tuple[int, float]]]:
    """A short PPO on CartPole logging to CSV; its progress.csv and, per rollout, the step and
    the explained variance SB3's train() computes from that rollout's buffer."""
    seen = sb3_ppo(tmp_path, ["csv"], rollouts=rollouts, seed=0, log_interval=log_interval)
    return (tmp_path / "progress.csv").read_text(), seen


def test_each_value_at_the_rollout_it_describes(tmp_path: Path) -> None:
    text, seen = _run(tmp_path, log_interval=1, rollouts=5)
    lines = read_progress_csv(text)
    # SB3 wrote rollout r's EV in the row of rollout r + 1; the last rollout's, never.
    assert [(line["step"], line["explained_variance"]) for line in lines] == seen[:-1]
    assert all(set(line) == {"step", "explained_variance", "value_loss"} for line in lines)


def test_log_interval_over_one(tmp_path: Path) -> None:
    text, seen = _run(tmp_path, log_interval=2, rollouts=6)
    lines = read_progress_csv(text)
    # Dumps after rollouts 2, 4, 6 carry the train() of rollouts 1, 3, 5.
    assert [(line["step"], line["explained_variance"]) for line in lines] == seen[0:5:2]


CSV = (
    "time/fps,time/iterations,time/total_timesteps,train/explained_variance,train/value_loss\n"
    "900,1,128,,\n"
    "880,2,256,0.25,3.5\n"
    "870,3,384,nan,2.0\n"
)


def test_rows_by_hand() -> None:
    lines = read_progress_csv(CSV)
    assert lines[0] == {"step": 128, "explained_variance": 0.25, "value_loss": 3.5}
    assert lines[1]["step"] == 256
    assert lines[1]["explained_variance"] != lines[1]["explained_variance"]  # NaN kept


def test_a_row_being_written_waits() -> None:
    assert len(read_progress_csv(CSV[:-1])) == 1
    assert len(read_progress_csv(CSV)) == 2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "time/total_timesteps\n128\n256\n",
        "train/explained_variance\n0.5\n0.6\n",  # no step: nothing can be placed
        "time/total_timesteps,train/explained_variance\nx,0.5\n",
    ],
)
def test_nothing_to_place(text: str) -> None:
    assert read_progress_csv(text) == []
