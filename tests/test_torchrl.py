"""integrations/torchrl.py against TorchRL itself: its GAE, and a short PPO on CartPole.

The TD errors value-diag logs must be TorchRL's own: put through the very function GAE
called (``generalized_advantage_estimate`` or ``vec_generalized_advantage_estimate``, with
the done and terminated flags it was given), they give GAE's advantages bit for bit, and
the value targets are those advantages plus the state values. A spy on those functions
records what GAE passed and got back. These tests need torch, tensordict, torchrl and
gymnasium: skipped without them, except in CI.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from needs import need, refusals

from value_diag.producer.metrics import compute_value_metrics
from value_diag.schema import CRITIC_FIELDS, FIT_FIELDS, VALUE_FIELDS

# TorchRL 0.14 warns while importing its collectors (its own weight updaters subclass a
# base it deprecates), and its Collector asks callers to choose a future default.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Creating .*WeightUpdater:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The env passed to Collector is missing:FutureWarning"),
]

GAMMA, LMBDA = 0.99, 0.95
WRITTEN = (*VALUE_FIELDS, *CRITIC_FIELDS, *FIT_FIELDS)
"""What a line holds: the nine, the critic's statistics, the returns' mean."""


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield


@pytest.fixture
def torch() -> Any:
    module = need("torch")
    module.set_num_threads(1)
    need("tensordict")
    need("torchrl")
    return module


@dataclass
class Call:
    """One call of TorchRL's GAE functional: what GAE passed, and what it got back."""

    function: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    advantage: Any
    value_target: Any


@pytest.fixture
def gae_calls(torch: Any, monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Every call GAE.forward makes of the GAE functional, recorded."""
    from torchrl.objectives.value import advantages

    calls: list[Call] = []
    for name in ("generalized_advantage_estimate", "vec_generalized_advantage_estimate"):
        original = getattr(advantages, name)

        def spy(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            advantage, value_target = _original(*args, **kwargs)
            calls.append(Call(_original, args, kwargs, advantage.clone(), value_target.clone()))
            return advantage, value_target

        monkeypatch.setattr(advantages, name, spy)
    return calls


def check_exact(call: Call, td_errors: Any) -> None:
    """TorchRL's own recursion over ``td_errors`` gives TorchRL's advantages bit for bit.

    The same function, with the same gamma, lambda, done, terminated and time_dim; the
    values zero and the rewards the TD errors, so that its td0 (r + gamma V' (1 - term) - V)
    is exactly the TD errors given.
    """
    torch = sys.modules["torch"]
    gamma, lmbda, value, next_value, reward = call.args
    zeros = torch.zeros_like(value)
    advantage, _ = call.function(gamma, lmbda, zeros, zeros, td_errors, **call.kwargs)
    assert td_errors.dtype == call.advantage.dtype == torch.float32
    assert torch.equal(advantage, call.advantage), "not TorchRL's TD errors"
    assert torch.equal(call.advantage + value, call.value_target)
    # And what they are, in float64: r + gamma V(s') (1 - terminated) - V(s).
    terminated = call.kwargs["terminated"].double()
    want = reward.double() + gamma.double() * next_value.double() * (1 - terminated)
    torch.testing.assert_close(td_errors.double(), want - value.double(), rtol=1e-6, atol=1e-5)


def batch(torch: Any, shape: tuple[int, ...], seed: int, ends: float = 0.15) -> Any:
    """A batch shaped like a collector's (time last), episodes ending at random, about a
    third of the ends truncations (done, not terminated); step 5 a termination and step 7
    a truncation in every row."""
    from tensordict import TensorDict

    g = torch.Generator().manual_seed(seed)
    done = torch.rand((*shape, 1), generator=g) < ends
    terminated = done & (torch.rand((*shape, 1), generator=g) < 0.67)
    done[..., [5, 7], :] = True
    terminated[..., 5, :], terminated[..., 7, :] = True, False
    names = [None] * (len(shape) - 1) + ["time"]
    return TensorDict(
        {
            "observation": torch.randn((*shape, 3), generator=g),
            "next": {
                "observation": torch.randn((*shape, 3), generator=g),
                "reward": torch.randn((*shape, 1), generator=g),
                "done": done,
                "terminated": terminated,
                "truncated": done & ~terminated,
            },
        },
        batch_size=shape,
        names=names,
    )


def critic(torch: Any, seed: int) -> Any:
    from torchrl.modules import ValueOperator

    torch.manual_seed(seed)
    return ValueOperator(torch.nn.Linear(3, 1), in_keys=["observation"])


GAE_SETTINGS = {
    "loop": {},
    "vectorized": {"vectorized": True},
    "average_gae": {"average_gae": True, "vectorized": True},
    "auto_reset_env": {"auto_reset_env": True},
    "shifted": {"shifted": True},
}


@pytest.mark.parametrize("setting", list(GAE_SETTINGS))
@pytest.mark.parametrize("shape", [(64,), (3, 40)], ids=["one env", "three envs"])
def test_the_td_errors_are_torchrls_own(
    torch: Any, gae_calls: list[Call], setting: str, shape: tuple[int, ...]
) -> None:
    from torchrl.objectives.value import GAE

    from value_diag.integrations.torchrl import gae_batch, gae_td_errors

    gae = GAE(gamma=GAMMA, lmbda=LMBDA, value_network=critic(torch, 0), **GAE_SETTINGS[setting])
    td = batch(torch, shape, seed=len(shape))
    with torch.no_grad():
        gae(td)
    (call,) = gae_calls
    td_errors = gae_td_errors(td, gae)
    assert td_errors.shape == td["state_value"].shape
    check_exact(call, td_errors)
    got = gae_batch(td, gae)
    if setting == "shifted":  # padding steps are left out; GAE zeroed their outputs
        valid = td["shifted_valid"]
        assert not valid.all()
        assert got.samples == int(valid.sum())
        assert torch.equal(got.td_errors, td_errors[valid].reshape(-1))
        assert torch.equal(got.returns, call.value_target[valid].reshape(-1))
    else:
        assert got.samples == td.numel()
        assert torch.equal(got.td_errors, td_errors.reshape(-1))
        assert torch.equal(got.returns, td["value_target"].reshape(-1))
    if setting == "auto_reset_env":  # a truncation bootstraps from V(s_t) itself
        trunc = td["next", "truncated"]
        want = td["next", "reward"] + GAMMA * td["state_value"] - td["state_value"]
        torch.testing.assert_close(td_errors[trunc], want[trunc])


def test_shifted_the_last_valid_step_bootstraps(torch: Any, gae_calls: list[Call]) -> None:
    """GAE(shifted=True) with one truncation in each row drops each row's last step (its
    padding), and treats the step before it as not terminated even where it is: a
    termination there is bootstrapped all the same."""
    from torchrl.objectives.value import GAE

    from value_diag.integrations.torchrl import gae_batch, gae_td_errors

    gae = GAE(gamma=GAMMA, lmbda=LMBDA, value_network=critic(torch, 2), shifted=True)
    td = batch(torch, (2, 30), seed=3, ends=0.0)  # step 7 is the one truncation
    td["next", "done"][:, 28] = td["next", "terminated"][:, 28] = True
    with torch.no_grad():
        gae(td)
    (call,) = gae_calls
    assert td["shifted_valid"].tolist() == [[True] * 29 + [False]] * 2
    assert not call.kwargs["terminated"][:, 28].any()
    td_errors = gae_td_errors(td, gae)
    check_exact(call, td_errors)
    assert torch.equal(gae_batch(td, gae).td_errors, td_errors[:, :29].reshape(-1))


def test_steps_to_next_obs_and_other_keys(torch: Any, gae_calls: list[Call]) -> None:
    """n-step gamma (gamma ** steps_to_next_obs) and keys renamed with set_keys."""
    from torchrl.objectives.value import GAE

    from value_diag.integrations.torchrl import gae_td_errors

    td = batch(torch, (2, 50), seed=5)
    td["steps_to_next_obs"] = torch.randint(1, 4, (2, 50, 1))
    td.rename_key_(("next", "reward"), ("next", "r"))
    gae = GAE(gamma=GAMMA, lmbda=LMBDA, value_network=None)
    gae.set_keys(value="v", reward="r", advantage="adv", value_target="target")
    td["v"] = torch.randn(2, 50, 1)
    td["next", "v"] = torch.randn(2, 50, 1)
    gae(td)
    (call,) = gae_calls
    assert call.args[0].shape == (2, 50, 1), "gamma per step"
    check_exact(call, gae_td_errors(td, gae))
    assert torch.equal(td["target"], call.value_target)


def test_what_is_refused(torch: Any, tmp_path: Path) -> None:
    from torchrl.objectives.value import GAE, TD0Estimator

    from value_diag.integrations.torchrl import ValueDiagnostics, gae_td_errors

    td0 = TD0Estimator(gamma=GAMMA, value_network=critic(torch, 0))
    with pytest.raises(TypeError, match=r"TD0Estimator is not a torchrl\.objectives\.value\.GAE"):
        ValueDiagnostics(tmp_path / "run.jsonl", td0)
    gae = GAE(gamma=GAMMA, lmbda=LMBDA, value_network=critic(torch, 0))
    with pytest.raises(ValueError, match="min_samples must be at least 1, not 0"):
        ValueDiagnostics(tmp_path / "run.jsonl", gae, min_samples=0)
    with pytest.raises(ValueError, match=r"no 'state_value': pass it after the advantage"):
        gae_td_errors(batch(torch, (8,), seed=0, ends=0.5), gae)
    diagnostics = ValueDiagnostics(tmp_path / "run.jsonl", gae)
    diagnostics.close()
    diagnostics.close()
    with pytest.raises(ValueError, match="is closed"):
        diagnostics.log(batch(torch, (8,), seed=0, ends=0.5))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


def logged_lines(path: Path, after: int = 0) -> list[dict[str, Any]]:
    """The lines after the run header, which names torchrl and is the first line after the
    ``after`` lines an earlier run left."""
    header, *logged = lines(path)[after:]
    assert list(header) == ["value_diag_run"], header
    assert (header["value_diag_run"]["writer"], header["value_diag_run"]["rules"]) == (
        "torchrl",
        "scale-free",
    )
    assert not any("value_diag_run" in line for line in logged), "one run, one header"
    return logged


def check_line(line: dict[str, Any], batches: list[Any]) -> None:
    """A line holds compute_value_metrics of exactly these batches' tensors."""
    torch = sys.modules["torch"]
    values, returns, td_errors = (
        torch.cat([getattr(b, name) for b in batches])
        for name in ("values", "returns", "td_errors")
    )
    assert line["samples"] == values.numel()
    want = compute_value_metrics(values, returns, td_errors)
    for name in WRITTEN:
        assert line[name] == getattr(want, name), name


def check_once(path: Path, records: int, last: dict[str, Any]) -> None:
    """`value-diag once` reads the file whole, its nine metrics those of the last line."""
    proc = run_cli(["once", str(path), "--format", "json"])
    assert proc.returncode == 0, proc.stderr.decode()
    frame = json.loads(proc.stdout)
    assert (frame["records"], frame["bad_lines"]) == (records, 0), frame["last_error"]
    assert frame["step"] == last["step"]
    for name in VALUE_FIELDS:
        assert frame["value_function"][name]["value"] == last[name], name


def test_batches_are_gathered_until_min_samples(torch: Any, tmp_path: Path) -> None:
    """Three envs of 40 steps (120 transitions a batch), min_samples 300: a line every
    third batch; what is left when closing is the last line."""
    from torchrl.objectives.value import GAE

    from value_diag.integrations.torchrl import ValueDiagnostics

    path = tmp_path / "run.jsonl"
    path.write_text('{"note": "an earlier run"}\n')
    gae = GAE(gamma=GAMMA, lmbda=LMBDA, value_network=critic(torch, 1))
    seen = []
    with ValueDiagnostics(path, gae, min_samples=300) as diagnostics:
        for i in range(7):
            td = batch(torch, (3, 40), seed=10 + i)
            with torch.no_grad():
                gae(td)
            diagnostics.log(td)
            seen.append(diagnostics.last_batch)
    assert lines(path)[0] == {"note": "an earlier run"}, "appended, not truncated"
    logged = logged_lines(path, after=1)
    assert [(line["step"], line["samples"]) for line in logged] == [
        (360, 360),
        (720, 360),
        (840, 120),
    ]
    check_line(logged[0], seen[:3])
    check_line(logged[1], seen[3:6])
    check_line(logged[2], seen[6:])
    check_once(path, records=4, last=logged[-1])


def tutorial_ppo(path: Path, gae_calls: list[Call], **gae_kwargs: Any) -> list[Any]:
    """TorchRL's PPO tutorial, cut down, on CartPole: episodes cut at 25 steps (StepCounter)
    beside the pole's own falls; ValueDiagnostics takes each batch after GAE's first pass.

    Returns each batch's spied GAE call and what ValueDiagnostics took from it.
    """
    import torch
    from tensordict.nn import TensorDictModule
    from torch import nn
    from torchrl.collectors import Collector
    from torchrl.data.replay_buffers import LazyTensorStorage, ReplayBuffer
    from torchrl.data.replay_buffers.samplers import SamplerWithoutReplacement
    from torchrl.envs import GymEnv, StepCounter, TransformedEnv
    from torchrl.modules import OneHotCategorical, ProbabilisticActor, ValueOperator
    from torchrl.objectives import ClipPPOLoss
    from torchrl.objectives.value import GAE

    from value_diag.integrations.torchrl import ValueDiagnostics, gae_td_errors

    frames_per_batch, total_frames, epochs, minibatch = 500, 3000, 4, 100
    torch.manual_seed(0)
    env = TransformedEnv(GymEnv("CartPole-v1"), StepCounter(max_steps=25))
    env.set_seed(0)
    actor_net = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))
    actor = ProbabilisticActor(
        TensorDictModule(actor_net, in_keys=["observation"], out_keys=["logits"]),
        spec=env.action_spec,
        in_keys=["logits"],
        distribution_class=OneHotCategorical,
        return_log_prob=True,
    )
    value_net = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))
    value_module = ValueOperator(value_net, in_keys=["observation"])
    collector = Collector(env, actor, frames_per_batch=frames_per_batch, total_frames=total_frames)
    advantage_module = GAE(gamma=GAMMA, lmbda=LMBDA, value_network=value_module, **gae_kwargs)
    loss_module = ClipPPOLoss(actor_network=actor, critic_network=value_module)
    optim = torch.optim.Adam(loss_module.parameters(), 3e-3)
    replay_buffer = ReplayBuffer(
        storage=LazyTensorStorage(frames_per_batch), sampler=SamplerWithoutReplacement()
    )
    taken = []
    with ValueDiagnostics(path, advantage_module, min_samples=frames_per_batch) as diagnostics:
        for data in collector:
            for epoch in range(epochs):
                advantage_module(data)
                if epoch == 0:
                    diagnostics.log(data)
                    call = gae_calls[-1]
                    taken.append((call, gae_td_errors(data, advantage_module), data.clone()))
                replay_buffer.extend(data.reshape(-1))
                for _ in range(frames_per_batch // minibatch):
                    loss = loss_module(replay_buffer.sample(minibatch))
                    total = loss["loss_objective"] + loss["loss_critic"] + loss["loss_entropy"]
                    total.backward()
                    optim.step()
                    optim.zero_grad()
    collector.shutdown()
    return taken


@pytest.mark.parametrize("vectorized", [None, True], ids=["loop", "vectorized"])
def test_ppo_on_cartpole_logs_torchrls_own_td_errors(
    torch: Any, gae_calls: list[Call], tmp_path: Path, vectorized: bool | None
) -> None:
    """The tutorial's GAE (average_gae=True): the logged TD errors put through TorchRL's
    recursion give its advantages bit for bit, the returns are its value targets, and
    `value-diag once` reads the file and shows the last line's nine metrics."""
    need("gymnasium")
    path = tmp_path / "run.jsonl"
    taken = tutorial_ppo(path, gae_calls, average_gae=True, vectorized=vectorized)
    assert len(taken) == 6
    truncated = sum(int(data["next", "truncated"].sum()) for _, _, data in taken)
    terminated = sum(int(data["next", "terminated"].sum()) for _, _, data in taken)
    assert truncated > 0 and terminated > 0
    logged = logged_lines(path)
    assert [(line["step"], line["samples"]) for line in logged] == [
        (500 * (i + 1), 500) for i in range(6)
    ]
    for line, (call, td_errors, data) in zip(logged, taken, strict=True):
        check_exact(call, td_errors)
        assert torch.equal(data["value_target"], call.value_target)
        assert not torch.equal(data["advantage"], call.advantage), "average_gae standardizes"
        # The line is compute_value_metrics of exactly these tensors.
        values, returns = data["state_value"].reshape(-1), data["value_target"].reshape(-1)
        want = compute_value_metrics(values, returns, td_errors.reshape(-1))
        for name in WRITTEN:
            assert line[name] == getattr(want, name), name
        # CartPole's rewards are 1 a step (the truncations' bootstrap is GAE's, not a
        # reward): every value of every policy lies in [0, 1 / (1 - gamma)]
        assert set(data["next", "reward"].reshape(-1).tolist()) == {1.0}
        bound = (line["value_bound_low"], line["value_bound_high"])
        assert bound == (0.0, pytest.approx(1.0 / (1.0 - GAMMA)))
    # the tutorial trains its critic: it moved between lines (the first has nothing before)
    assert "critic_change" not in logged[0]
    assert all(line["critic_change"] > 0 for line in logged[1:])
    check_once(path, records=len(logged) + 1, last=logged[-1])


def test_the_module_imports_without_torch_or_torchrl() -> None:
    """value-diag never depends on TorchRL: the integration imports, and names the extra."""
    printed = refusals(
        ("torchrl", "tensordict", "torch", "numpy"),
        "value_diag.integrations.torchrl",
        ["ValueDiagnostics", "gae_td_errors"],
        ["ValueDiagnostics('run.jsonl', None)", "gae_td_errors(1, 2)"],
    )
    assert printed == (
        "ValueDiagnostics needs torchrl: pip install 'value-diag[torchrl]'\n"
        "gae_td_errors needs torchrl: pip install 'value-diag[torchrl]'\n"
    )
