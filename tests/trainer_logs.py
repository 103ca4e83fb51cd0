"""What trainers already log, written for the tests of value-diag's readers (once and watch):
SB3's progress.csv rows, verl's and value-diag's own lines, RLlib's results, a framed
TensorBoard record, an environment without tensorboard, and a real SB3 run's logs with the
explained variance SB3 computed per rollout."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conftest import clean_env
from needs import need

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
SB3_CSV_SAID = (
    "Stable-Baselines3 progress.csv cannot give the nine value-function metrics, V-Mean,"
    " V-Std, V-Min, V-Max; it gives EV (shown by --critic). SB3 writes each rollout's EV a"
    " row late: it is moved back to its rollout, and the last rollout's is never"
    " written. The hook that would:"
    " callback=ValueDiagnosticsCallback('run.jsonl') in model.learn"
    " (value_diag.integrations.sb3) (README: Where the three inputs are in your trainer)"
)
"""What the panel of SB3_CSV says under it."""


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


def sb3_ppo(
    folder: Path, formats: Sequence[str], *, rollouts: int, seed: int, log_interval: int = 1
) -> list[tuple[int, float]]:
    """A short SB3 PPO on CartPole (64 steps a rollout) logging in ``formats`` (SB3's
    logger's: "csv", "tensorboard") to ``folder``; per rollout, the step and the explained
    variance SB3's train() computes from that rollout's buffer. Skips the test where SB3
    (or tensorboard, when asked for) is not installed."""
    if "tensorboard" in formats:
        need("tensorboard")
    sb3 = need("stable_baselines3")
    callbacks = need("stable_baselines3.common.callbacks")
    logger = need("stable_baselines3.common.logger")
    utils = need("stable_baselines3.common.utils")
    seen: list[tuple[int, float]] = []

    class Recorder(callbacks.BaseCallback):  # type: ignore[misc,name-defined]
        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            # The buffer train() reads next: its values and returns, as train() takes them.
            buf: Any = self.model.rollout_buffer
            ev = utils.explained_variance(buf.values.flatten(), buf.returns.flatten())
            seen.append((self.model.num_timesteps, ev))

    model = sb3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, n_epochs=1, seed=seed)
    written = logger.configure(str(folder), list(formats))
    model.set_logger(written)
    try:
        model.learn(total_timesteps=64 * rollouts, callback=Recorder(), log_interval=log_interval)
    finally:
        written.close()
    return seen
