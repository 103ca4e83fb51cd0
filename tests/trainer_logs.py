"""What trainers already log, written for the tests of value-diag's readers (once and watch):
SB3's progress.csv rows, verl's and value-diag's own lines, RLlib's results, a framed
TensorBoard record, and an environment without tensorboard."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from conftest import clean_env

from value_diag.ingest.foreign.tfevents import masked_crc32c

SB3_CSV = (
    "time/fps,time/iterations,time/total_timesteps,train/explained_variance,train/value_loss\n"
    "900,1,128,,\n"
    "880,2,256,0.25,3.5\n"
    "870,3,384,0.5,2.0\n"
)
"""Three dumps of SB3's CSV logger: rollout 1's numbers in row 2, rollout 2's in row 3."""
VERL = (
    b'{"step": 7, "data": {"critic/vf_explained_var": 0.625, "critic/values/mean": 1.25,'
    b' "critic/values/max": 3.0, "critic/values/min": -1.0, "critic/returns/mean": 1.5}}\n'
)
OURS = (
    b'{"step": 3, "v_return_correlation": 0.9, "td_error_mean": 0.0, "td_error_std": 1.0,'
    b' "bellman_error": 1.0, "return_p10": 0.0, "return_p50": 1.0, "return_p90": 2.0,'
    b' "return_variance": 1.0, "return_skewness": 0.0}\n'
)


def rlib_result(iteration: int, modules: dict[str, float]) -> str:
    """One line of Tune's result.json for RLlib's new API stack, one entry per module and
    the sum over them (``__all_modules__``), as PPO's learner results are laid out."""
    learners: dict[str, Any] = {
        m: {"vf_explained_var": ev, "vf_loss": 1.5} for m, ev in modules.items()
    }
    learners["__all_modules__"] = {"num_trainable_parameters": 100}
    result = {
        "training_iteration": iteration,
        "num_env_steps_sampled_lifetime": 4000 * iteration,
        "learners": learners,
    }
    return json.dumps(result) + "\n"


def hide_tensorboard(tmp_path: Path) -> dict[str, str]:
    """An environment in which ``import tensorboard`` fails, as where it is not installed."""
    shim = tmp_path / "shim" / "tensorboard"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named tensorboard')\n")
    paths = [str(tmp_path / "shim"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return clean_env(PYTHONPATH=os.pathsep.join(paths))


def framed(data: bytes) -> bytes:
    """One TFRecord holding ``data`` (the framing alone needs no tensorboard)."""
    length = len(data).to_bytes(8, "little")
    return (
        length
        + masked_crc32c(length).to_bytes(4, "little")
        + data
        + masked_crc32c(data).to_bytes(4, "little")
    )
