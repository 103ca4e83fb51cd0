"""Ray Tune's result.json to flat lines: a real RLlib PPO tune run on CartPole (new API
stack, Ray 2.60), and lines of the old API stack's shape built from the keys Ray's code uses."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from needs import need

from value_diag.ingest.foreign.ray_tune import read_result_json


def _tune_run(storage: Path) -> tuple[str, list[dict[str, Any]]]:
    """Two iterations of PPO on CartPole through Tune: result.json, and the results Tune
    handed its callbacks (the dicts its JSON logger wrote)."""
    ray = need("ray")
    tune = need("ray.tune")
    ppo = need("ray.rllib.algorithms.ppo")
    seen: list[dict[str, Any]] = []

    class Seen(tune.Callback):  # type: ignore[misc,name-defined]
        def on_trial_result(self, iteration: int, trials: Any, trial: Any, result: Any) -> None:
            seen.append(result)

    config = (
        ppo.PPOConfig()
        .environment("CartPole-v1")
        .env_runners(num_env_runners=0)
        .training(train_batch_size_per_learner=256, minibatch_size=64, num_epochs=1)
    )
    # ray.init sets a SIGTERM handler of its own that ray.shutdown leaves: put them back.
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(
            "PPO",
            param_space=config,
            run_config=tune.RunConfig(
                storage_path=str(storage),
                name="ppo",
                stop={"training_iteration": 2},
                verbose=0,
                callbacks=[Seen()],
            ),
        )
        tuner.fit()
    finally:
        ray.shutdown()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    (path,) = storage.glob("ppo/*/result.json")
    return path.read_text(), seen


# Gymnasium's checker (1.4 here, not the 1.2.2 ray[rllib] pins) warns of the float64 arrays
# RLlib's env runner hands it: its warnings ("WARN: ..."), not this reader's concern.
@pytest.mark.filterwarnings("ignore:.*WARN:UserWarning")
def test_real_tune_run(tmp_path: Path) -> None:
    text, seen = _tune_run(tmp_path)
    runs = read_result_json(text)
    assert list(runs) == ["default_policy"]
    expected = [
        {
            "step": int(result["num_env_steps_sampled_lifetime"]),
            "training_iteration": result["training_iteration"],
            "explained_variance": result["learners"]["default_policy"]["vf_explained_var"],
            "value_loss": result["learners"]["default_policy"]["vf_loss"],
        }
        for result in seen
    ]
    assert runs["default_policy"] == expected
    assert [line["training_iteration"] for line in expected] == [1, 2]


def _old_stack(iteration: int, policies: dict[str, float]) -> str:
    """A result of RLlib's old API stack: learner stats under info/learner/<policy>
    (Algorithm: results["info"] = {LEARNER_INFO: ...}, LEARNER_STATS_KEY inside)."""
    learner = {
        policy: {"learner_stats": {"vf_explained_var": ev, "vf_loss": 1.0}, "num_agent_steps": 8}
        for policy, ev in policies.items()
    }
    result: dict[str, object] = {
        "training_iteration": iteration,
        "timesteps_total": 4000 * iteration,
    }
    result["info"] = {"learner": learner, "num_env_steps_sampled": 4000 * iteration}
    return json.dumps(result) + "\n"


def test_old_api_stack_per_policy() -> None:
    text = _old_stack(1, {"a": 0.1, "b": 0.2}) + _old_stack(2, {"a": 0.3, "b": float("nan")})
    runs = read_result_json(text)
    assert [line["explained_variance"] for line in runs["a"]] == [0.1, 0.3]
    assert [line["step"] for line in runs["b"]] == [4000, 8000]
    nan = runs["b"][1]["explained_variance"]
    assert nan != nan  # Python's NaN, written as the NaN token, is what RLlib logged


def test_numpy_nan_is_absent_and_the_sum_is_no_module() -> None:
    line = {
        "training_iteration": 1,
        "num_env_steps_sampled_lifetime": 256.0,
        "learners": {
            "__all_modules__": {"num_env_steps_trained": 320},
            "p": {"vf_explained_var": "null", "vf_loss": 2.5},
        },
    }
    assert read_result_json(json.dumps(line) + "\n") == {
        "p": [{"step": 256, "training_iteration": 1, "value_loss": 2.5}]
    }


def test_a_line_being_written_waits() -> None:
    text = _old_stack(1, {"a": 0.1}) + _old_stack(2, {"a": 0.3})[:-10]
    assert len(read_result_json(text)["a"]) == 1


def test_no_step_no_line() -> None:
    text = json.dumps({"learners": {"p": {"vf_explained_var": 0.5}}}) + "\nnot json\n[]\n"
    assert read_result_json(text) == {}
