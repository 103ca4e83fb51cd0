"""integrations/sb3.py against Stable-Baselines3 itself: PPO and A2C on CartPole.

The TD errors the callback logs must be SB3's own: the GAE recursion of
``RolloutBuffer.compute_returns_and_advantage`` over them gives SB3's advantages bit for
bit, time-limit truncations (whose bootstrap SB3 folds into the rewards) included. These
tests need stable-baselines3, gymnasium and torch; .ci/run installs them, and in CI a
missing one is a failure, not a skip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from conftest import invoke
from needs import need, refusals

from value_diag.producer.metrics import compute_value_metrics
from value_diag.schema import VALUE_FIELDS

Array = npt.NDArray[Any]


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield


@pytest.fixture
def sb3() -> Any:
    need("gymnasium")
    torch = need("torch")
    torch.set_num_threads(1)
    return need("stable_baselines3")


@dataclass
class Rollout:
    """What SB3 held at one rollout's end, and the TD errors the callback took from it."""

    values: Array
    returns: Array
    advantages: Array
    episode_starts: Array
    dones: Array
    deltas: Array
    gamma: float
    gae_lambda: float


def recording_callback(path: Path, **kwargs: Any) -> Any:
    """A ValueDiagnosticsCallback that also keeps each rollout and counts episode ends."""
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    from value_diag.integrations.sb3 import ValueDiagnosticsCallback

    class Recording(ValueDiagnosticsCallback):
        def __init__(self) -> None:
            super().__init__(path, **kwargs)
            self.rollouts: list[Rollout] = []
            self.truncations = self.terminations = 0
            self.rewards: list[float] = []
            """Every step's reward as the environment gave it, before SB3's bootstrap."""

        def _on_step(self) -> bool:
            for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True):
                if done and info.get("TimeLimit.truncated", False):
                    self.truncations += 1
                elif done:
                    self.terminations += 1
            self.rewards += [float(x) for x in self.locals["rewards"]]
            return bool(super()._on_step())

        def _on_rollout_end(self) -> None:
            super()._on_rollout_end()
            assert isinstance(self.model, OnPolicyAlgorithm)
            buf = self.model.rollout_buffer
            assert self.last_rollout is not None
            self.rollouts.append(
                Rollout(
                    values=buf.values.copy(),
                    returns=buf.returns.copy(),
                    advantages=buf.advantages.copy(),
                    episode_starts=buf.episode_starts.copy(),
                    dones=np.asarray(self.locals["dones"]).copy(),
                    deltas=self.last_rollout[2],
                    gamma=buf.gamma,
                    gae_lambda=buf.gae_lambda,
                )
            )

    return Recording()


def sb3_gae(r: Rollout) -> Array:
    """SB3's recursion (RolloutBuffer.compute_returns_and_advantage) over given TD errors."""
    n_steps = r.deltas.shape[0]
    advantages = np.zeros_like(r.advantages)
    last_gae_lam: Any = 0
    for step in reversed(range(n_steps)):
        if step == n_steps - 1:
            next_non_terminal = 1.0 - r.dones.astype(np.float32)
        else:
            next_non_terminal = 1.0 - r.episode_starts[step + 1]
        last_gae_lam = r.deltas[step] + r.gamma * r.gae_lambda * next_non_terminal * last_gae_lam
        advantages[step] = last_gae_lam
    return advantages


def recording_explained_variance(model: Any) -> list[float]:
    """SB3's own train/explained_variance of each rollout, read right after train()."""
    seen: list[float] = []
    train = model.train

    def train_and_record() -> None:
        train()
        seen.append(model.logger.name_to_value["train/explained_variance"])

    model.train = train_and_record
    return seen


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


def is_header(line: dict[str, Any]) -> bool:
    """The callback's run header: it names stable-baselines3 as the writer."""
    if list(line) != ["value_diag_run"]:
        return False
    header = line["value_diag_run"]
    assert (header["writer"], header["rules"]) == ("stable-baselines3", "scale-free"), header
    return True


def logged_lines(path: Path) -> list[dict[str, Any]]:
    """The lines after the run header, which is the file's first line and only header."""
    header, *logged = lines(path)
    assert is_header(header), header
    assert not any(map(is_header, logged)), "one run, one header"
    return logged


def check_once(path: Path, records: int) -> None:
    """`value-diag once` reads the file: exit 0, every line a record, no bad line."""
    proc = invoke(["once", str(path), "--format", "json"])
    assert proc.returncode == 0, proc.stderr.decode()
    frame = json.loads(proc.stdout)
    assert (frame["records"], frame["bad_lines"]) == (records, 0), frame["last_error"]


def check_rollouts_exactly(rollouts: list[Rollout]) -> None:
    for i, r in enumerate(rollouts):
        assert r.deltas.shape == r.advantages.shape, i
        assert r.deltas.dtype == r.advantages.dtype == np.float32, i
        assert np.array_equal(sb3_gae(r), r.advantages), f"rollout {i}: not SB3's TD errors"
        # The last row is there too: with the recursion starting from 0, it is its advantage.
        assert np.array_equal(r.deltas[-1], r.advantages[-1]), i


def check_line(line: dict[str, Any], rollouts: list[Rollout]) -> None:
    """A logged line holds the metrics of exactly these rollouts' transitions."""
    values, returns, deltas = (
        np.concatenate([getattr(r, name).ravel() for r in rollouts])
        for name in ("values", "returns", "deltas")
    )
    assert line["samples"] == values.size
    want = compute_value_metrics(values, returns, deltas)
    for name in VALUE_FIELDS:
        assert line[name] == getattr(want, name), name
    v64, g64 = values.astype(np.float64), returns.astype(np.float64)
    ev = 1.0 - np.var(g64 - v64) / np.var(g64)
    assert line["explained_variance"] == pytest.approx(ev, rel=1e-12, abs=1e-12)
    assert (line["value_min"], line["value_max"]) == (float(v64.min()), float(v64.max()))


@pytest.mark.parametrize("n_envs", [1, 3])
def test_every_row_is_sb3s_including_the_last(sb3: Any, n_envs: int) -> None:
    """A buffer filled by hand, episode ends everywhere, the last step's above all."""
    import torch
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer

    from value_diag.integrations.sb3 import rollout_td_errors

    rng = np.random.default_rng(n_envs)
    n_steps = 64
    space = spaces.Box(-1.0, 1.0, (2,))
    buf = RolloutBuffer(
        n_steps, space, spaces.Discrete(2), gamma=0.97, gae_lambda=0.9, n_envs=n_envs
    )
    for _ in range(n_steps):
        buf.add(
            rng.normal(size=(n_envs, 2)).astype(np.float32),
            rng.integers(0, 2, size=(n_envs, 1)),
            rng.normal(size=n_envs).astype(np.float32),
            rng.random(n_envs) < 0.3,
            torch.as_tensor(rng.normal(size=(n_envs, 1)), dtype=torch.float32),
            torch.zeros(n_envs),
        )
    last_values = torch.as_tensor(rng.normal(size=(n_envs, 1)), dtype=torch.float32)
    for dones in (
        np.ones(n_envs, dtype=bool),
        np.zeros(n_envs, dtype=bool),
        np.arange(n_envs) % 2 == 0,
    ):
        buf.compute_returns_and_advantage(last_values=last_values, dones=dones)
        deltas = rollout_td_errors(buf, last_values, dones)
        rollout = Rollout(
            buf.values, buf.returns, buf.advantages, buf.episode_starts, dones, deltas, 0.97, 0.9
        )
        check_rollouts_exactly([rollout])
        # And what they are, in float64: r + gamma V' (1 - done') - V.
        next_values = np.concatenate([buf.values[1:], last_values.numpy().reshape(1, -1)])
        ends = np.concatenate([buf.episode_starts[1:], dones.reshape(1, -1)]).astype(np.float64)
        want = buf.rewards + 0.97 * next_values * (1.0 - ends) - buf.values
        np.testing.assert_allclose(deltas, want, rtol=1e-6, atol=1e-6)


def test_ppo_with_two_envs_logs_sb3s_own_td_errors_and_explained_variance(
    sb3: Any, tmp_path: Path
) -> None:
    from stable_baselines3.common.env_util import make_vec_env

    path = tmp_path / "run.jsonl"
    path.write_text('{"note": "an earlier run"}\n')
    # Episodes cut at 40 steps: time-limit truncations (bootstrapped by SB3) beside the
    # pole's own terminations.
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0, env_kwargs={"max_episode_steps": 40})
    model = sb3.PPO("MlpPolicy", env, n_steps=256, batch_size=128, n_epochs=2, seed=0)
    ev_sb3 = recording_explained_variance(model)
    callback = recording_callback(path, min_samples=512)  # one rollout per line
    model.learn(total_timesteps=2048, callback=callback)

    assert callback.truncations > 0 and callback.terminations > 0
    assert len(callback.rollouts) == 4
    check_rollouts_exactly(callback.rollouts)

    first, header, *logged = lines(path)
    assert first == {"note": "an earlier run"}, "appended, not truncated"
    assert is_header(header), "a new run starts after the earlier one"
    assert [line["step"] for line in logged] == [512, 1024, 1536, 2048]
    assert len(ev_sb3) == len(logged)
    for line, rollout, ev in zip(logged, callback.rollouts, ev_sb3, strict=True):
        check_line(line, [rollout])
        # SB3 computes its EV in float32, value-diag in float64 from the same float32
        # numbers: equal to float32 precision.
        assert line["explained_variance"] == pytest.approx(ev, abs=2e-6)
    # CartPole's rewards are 1 a step, so every value lies in [0, 1 / (1 - gamma)]; SB3's
    # time-limit bootstrap (added to the buffer's rewards after each step) is not a reward
    assert set(callback.rewards) == {1.0}
    for line in logged:
        assert (line["value_bound_low"], line["value_bound_high"]) == (0.0, pytest.approx(100.0))
    assert callback.telemetry is None, "closed when training ended"
    check_once(path, records=5)  # the earlier run's note is no record of ours


def test_under_vecnormalize_the_bound_is_the_raw_rewards_in_its_current_units(
    sb3: Any, tmp_path: Path
) -> None:
    """VecNormalize divides CartPole's reward of 1 a step by a scale that grows with the
    returns, and the critic learns in those units: each line's bound is 1 / scale / (1 -
    gamma) with the scale of its time. The normalised rewards of the first steps, when the
    scale is tiny, reach the clip (10): a bound made of them would be ten times wider."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from value_diag.integrations.sb3 import ValueDiagnosticsCallback

    path = tmp_path / "run.jsonl"

    class Scales(ValueDiagnosticsCallback):
        def __init__(self) -> None:
            super().__init__(path, min_samples=512)
            self.scales: list[float] = []
            self.normalised: list[float] = []

        def _on_step(self) -> bool:
            self.normalised += [float(x) for x in self.locals["rewards"]]
            return bool(super()._on_step())

        def _on_rollout_end(self) -> None:
            super()._on_rollout_end()
            norm = self.model.get_vec_normalize_env()
            assert norm is not None
            self.scales.append(float(np.sqrt(norm.ret_rms.var + norm.epsilon)))

    env = VecNormalize(make_vec_env("CartPole-v1", n_envs=2, seed=0), gamma=0.99)
    model = sb3.PPO("MlpPolicy", env, n_steps=256, batch_size=128, n_epochs=2, seed=0)
    callback = Scales()
    model.learn(total_timesteps=2048, callback=callback)

    _, *logged = lines(path)
    assert [line["value_bound_low"] for line in logged] == [0.0] * 4
    highs = [line["value_bound_high"] for line in logged]
    assert highs == pytest.approx([min(10.0, 1.0 / s) / (1 - 0.99) for s in callback.scales])
    assert max(callback.normalised) > 10 * max(highs) * (1 - 0.99)


def test_a2c_rollouts_are_gathered_until_min_samples(sb3: Any, tmp_path: Path) -> None:
    """A2C's 5-step rollouts: one line per 2,048 transitions or more, not per 5; what is
    left at the end of training is the last line."""
    path = tmp_path / "run.jsonl"
    model = sb3.A2C("MlpPolicy", "CartPole-v1", seed=1)
    callback = recording_callback(path)
    model.learn(total_timesteps=4200, callback=callback)

    rollouts = callback.rollouts
    assert len(rollouts) == 840 and rollouts[0].values.shape == (5, 1)
    check_rollouts_exactly(rollouts)
    logged = logged_lines(path)
    assert [(line["step"], line["samples"]) for line in logged] == [
        (2050, 2050),
        (4100, 2050),
        (4200, 100),
    ]
    check_line(logged[0], rollouts[:410])
    check_line(logged[1], rollouts[410:820])
    check_line(logged[2], rollouts[820:])
    check_once(path, records=4)


def test_a_short_a2c_run_is_not_an_empty_file(sb3: Any, tmp_path: Path) -> None:
    """Fewer transitions than min_samples in the whole run: one line at its end."""
    path = tmp_path / "run.jsonl"
    model = sb3.A2C("MlpPolicy", "CartPole-v1", seed=4)
    callback = recording_callback(path)
    model.learn(total_timesteps=100, callback=callback)
    (line,) = logged_lines(path)
    assert (line["step"], line["samples"]) == (100, 100)
    check_line(line, callback.rollouts)
    check_once(path, records=2)


def test_a2c_explained_variance_is_sb3s(sb3: Any, tmp_path: Path) -> None:
    from stable_baselines3.common.env_util import make_vec_env

    path = tmp_path / "run.jsonl"
    env = make_vec_env("CartPole-v1", n_envs=4, seed=2, env_kwargs={"max_episode_steps": 30})
    model = sb3.A2C("MlpPolicy", env, n_steps=16, seed=2)
    ev_sb3 = recording_explained_variance(model)
    callback = recording_callback(path, min_samples=1)  # every rollout, to compare
    model.learn(total_timesteps=1280, callback=callback)

    assert callback.truncations > 0
    check_rollouts_exactly(callback.rollouts)
    logged = logged_lines(path)
    assert len(logged) == len(ev_sb3) == 20
    for line, rollout, ev in zip(logged, callback.rollouts, ev_sb3, strict=True):
        check_line(line, [rollout])
        if np.isnan(ev):
            assert np.isnan(line["explained_variance"])
        else:
            assert line["explained_variance"] == pytest.approx(ev, abs=2e-5 * max(1, abs(ev)))


def test_a_second_learn_continues_the_run_and_truncate_empties_first(
    sb3: Any, tmp_path: Path
) -> None:
    """Each learn() ends with what it has; the second appends to the same run (no header)."""
    from reading import fold_path

    from value_diag.integrations.sb3 import ValueDiagnosticsCallback

    path = tmp_path / "run.jsonl"
    path.write_text('{"note": "an earlier run"}\n')
    model = sb3.A2C("MlpPolicy", "CartPole-v1", n_steps=64, seed=3)
    callback = ValueDiagnosticsCallback(path, truncate=True, min_samples=256)
    model.learn(total_timesteps=300, callback=callback)  # 5 rollouts of 64
    model.learn(total_timesteps=300, callback=callback, reset_num_timesteps=False)
    logged = logged_lines(path)
    assert [(line["step"], line["samples"]) for line in logged] == [
        (256, 256),
        (320, 64),
        (576, 256),
        (640, 64),
    ]
    state = fold_path(str(path), 0.0)
    assert (state.updates, state.writer, state.step) == (4, "stable-baselines3", 640)


# torch.compile's first use imports torch.jit parts that warn about their own deprecation.
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_a_compiled_policy_logs_its_compile_status(sb3: Any, tmp_path: Path) -> None:
    import torch

    from value_diag.integrations.sb3 import ValueDiagnosticsCallback

    for compiled in (False, True):
        path = tmp_path / f"compiled-{compiled}.jsonl"
        model = sb3.PPO("MlpPolicy", "CartPole-v1", seed=0)
        if compiled:  # compiled lazily: nothing is traced until it is called
            extractor = model.policy.mlp_extractor
            model.policy.mlp_extractor = torch.compile(extractor, mode="max-autotune")
        callback = ValueDiagnosticsCallback(path, compile_mode="max-autotune")
        callback.init_callback(model)
        callback.on_training_start(locals(), globals())
        callback.on_training_end()
        want = [
            {"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "max-autotune"}
        ]
        assert logged_lines(path) == (want if compiled else [])


def test_an_off_policy_algorithm_is_refused(sb3: Any, tmp_path: Path) -> None:
    from value_diag.integrations.sb3 import ValueDiagnosticsCallback

    model = sb3.DQN("MlpPolicy", "CartPole-v1", learning_starts=0, seed=0)
    with pytest.raises(TypeError, match=r"on-policy rollout buffer \(PPO, A2C\); DQN has none"):
        model.learn(total_timesteps=10, callback=ValueDiagnosticsCallback(tmp_path / "r.jsonl"))


def test_the_module_imports_without_sb3_or_numpy() -> None:
    """value-diag never depends on SB3: the integration imports, and says what it needs."""
    printed = refusals(
        ("stable_baselines3", "numpy", "torch"),
        "value_diag.integrations.sb3",
        ["ValueDiagnosticsCallback"],
        ["ValueDiagnosticsCallback('run.jsonl')"],
    )
    assert printed == (
        "ValueDiagnosticsCallback needs stable-baselines3: pip install stable-baselines3\n"
    )


def test_a_healthy_cartpole_run_is_ok_scale_free_and_critical_under_the_seeds_table(
    sb3: Any, tmp_path: Path
) -> None:
    """The reward-scale case: a critic that fits CartPole's returns, judged both ways.

    PPO with the RL Zoo's CartPole settings learns its value function within 16k steps
    (V-Corr about 0.96, EV about 0.93). Its discounted returns pile up under the gamma
    ceiling, so the default table (absolute skew) calls it critical; scale-free calls it ok.
    """
    from stable_baselines3.common.env_util import make_vec_env

    from value_diag.integrations.sb3 import ValueDiagnosticsCallback

    path = tmp_path / "run.jsonl"
    env = make_vec_env("CartPole-v1", n_envs=8, seed=0)
    model = sb3.PPO(
        "MlpPolicy",
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=1e-3,
        seed=0,
    )
    model.learn(total_timesteps=16_384, callback=ValueDiagnosticsCallback(str(path)))
    judged = invoke(["once", str(path), "--preset", "scale-free", "--critic", "-f", "json"])
    assert judged.returncode == 0, judged.stderr
    frame = json.loads(judged.stdout)
    assert frame["status"] == "ok", frame
    assert frame["critic"]["calib"]["value"] == "ok", frame["critic"]
    assert frame["critic"]["explained_variance"]["value"] > 0.5
    assert frame["value_function"]["v_return_correlation"]["value"] > 0.8
    # The run header asks for the scale-free rules; the seed's table, asked for, still
    # judges the absolute skew.
    default = invoke(["once", str(path), "--preset", "default", "--fail-on", "critical"])
    assert default.returncode == 1, "the seed's absolute table: CartPole's skew is critical"
