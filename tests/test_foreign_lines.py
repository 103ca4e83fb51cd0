"""The foreign readers' lines are lines value-diag reads: through the real console script,
each reader's output, written as JSON lines, fills what its SOURCE says and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from needs import need

from value_diag.ingest.foreign import FlatLine, Source, ray_tune, sb3_csv, tfevents, verl_file
from value_diag.schema import CRITIC_FIELDS, FIT_FIELDS, VALUE_FIELDS

SB3_CSV = (
    "time/iterations,time/total_timesteps,train/explained_variance,train/value_loss\n"
    "1,128,,\n"
    "2,256,0.25,3.5\n"
    "3,384,0.5,2.0\n"
)
VERL = (
    b'{"step": 7, "data": {"critic/vf_explained_var": 0.625, "critic/values/mean": 1.25,'
    b' "critic/values/max": 3.0, "critic/values/min": -1.0, "critic/returns/mean": 1.5,'
    b' "critic/returns/max": 4.0, "critic/returns/min": -2.0}}\n'
)
RAY = (
    json.dumps(
        {
            "training_iteration": 2,
            "num_env_steps_sampled_lifetime": 512.0,
            "learners": {"default_policy": {"vf_explained_var": 0.375, "vf_loss": 8.9}},
        }
    )
    + "\n"
)


def _tensorboard(folder: Path) -> bytes:
    need("tensorboard")
    writer = need("torch.utils.tensorboard").SummaryWriter(str(folder))
    writer.add_scalar("losses/explained_variance", 0.75, 128)
    writer.add_scalar("losses/value_loss", 2.0, 128)
    writer.close()
    (path,) = folder.glob("events.out.tfevents.*")
    return path.read_bytes()


def _once(tmp_path: Path, lines: list[FlatLine]) -> dict[str, Any]:
    path = tmp_path / "run.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    proc = run_cli(["once", str(path), "--critic", "--format", "json"])
    assert proc.returncode in (0, 1), proc.stderr.decode()
    frame: dict[str, Any] = json.loads(proc.stdout)
    return frame


@pytest.mark.parametrize(
    ("source", "read", "ev"),
    [
        (sb3_csv.SOURCE, lambda _: sb3_csv.read_progress_csv(SB3_CSV), 0.5),
        (verl_file.SOURCE, lambda _: verl_file.read_verl_jsonl(VERL), 0.625),
        (ray_tune.SOURCE, lambda _: ray_tune.read_result_json(RAY)["default_policy"], 0.375),
        (tfevents.SOURCE, lambda tmp: tfevents.read_events(_tensorboard(tmp / "tb")), 0.75),
    ],
    ids=["sb3_csv", "verl_file", "ray_tune", "tfevents"],
)
def test_read_by_value_diag(tmp_path: Path, source: Source, read: Any, ev: float) -> None:
    lines: list[FlatLine] = read(tmp_path)
    assert lines
    for line in lines:
        assert set(line) <= {"step"} | source.fills | source.carried
    assert source.fills <= set(CRITIC_FIELDS) | set(FIT_FIELDS)
    assert not (source.carried & {*VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS})
    frame = _once(tmp_path, lines)
    assert frame["records"] == len(lines) and frame["bad_lines"] == 0
    assert frame["step"] == lines[-1]["step"]
    assert frame["critic"]["explained_variance"]["value"] == ev
    # The nine stay not reported: no reader invents them.
    assert all(frame["value_function"][name]["value"] is None for name in VALUE_FIELDS)
    for name in ("value_mean", "value_min", "value_max"):
        shown = frame["critic"][name]["value"]
        assert shown == lines[-1].get(name), name
