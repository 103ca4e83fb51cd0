"""The README's CleanRL lines, in a loop of CleanRL's ppo.py shape, with its names.

The loop below follows CleanRL's ``ppo.py`` (storage, rollout, GAE, flattening, the PPO
update) on a small environment of our own, with value-diag's lines where the README puts
them; the test checks that the README's lines are the ones here, in the same places.
Needs torch: skipped without it, except in CI.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, invoke
from needs import need

from value_diag.producer.metrics import compute_value_metrics


class ToyEnvs:
    """A vector of environments with gymnasium's step signature; episodes end at random."""

    def __init__(self, num_envs: int, obs_dim: int, seed: int) -> None:
        self.num_envs, self.obs_dim = num_envs, obs_dim
        self.rng = np.random.default_rng(seed)
        self.weights = self.rng.normal(size=obs_dim)
        self.state = self.rng.normal(size=(num_envs, obs_dim))

    def reset(self, seed: int) -> tuple[Any, dict[str, Any]]:
        return self.state.astype(np.float32), {}

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        reward = self.state @ self.weights + 0.5 * (action == 1)
        self.state = 0.95 * self.state + self.rng.normal(0.0, 0.3, size=self.state.shape)
        terminations = self.rng.random(self.num_envs) < 0.02
        truncations = self.rng.random(self.num_envs) < 0.01
        ended = terminations | truncations
        self.state[ended] = self.rng.normal(size=(int(ended.sum()), self.obs_dim))
        return self.state.astype(np.float32), reward, terminations, truncations, {}


class SummaryWriter:
    """Stands in for TensorBoard's: makes the run's directory under runs/, writes nothing."""

    def __init__(self, log_dir: str) -> None:
        Path(log_dir).mkdir(parents=True)

    def close(self) -> None:
        pass


def cleanrl_ppo(history: list[dict[str, Any]]) -> None:
    """CleanRL's ppo.py main loop, cut down; ``history`` keeps each iteration's tensors."""
    import torch
    from torch import nn, optim
    from torch.distributions.categorical import Categorical

    from value_diag import CriticChange, TelemetryWriter, ValueBound, compute_value_metrics

    class Args:
        seed, num_envs, num_steps, num_iterations = 1, 4, 64, 6
        learning_rate, gamma, gae_lambda = 2.5e-3, 0.99, 0.95
        update_epochs, minibatch_size, clip_coef, vf_coef, ent_coef = 2, 64, 0.2, 0.5, 0.01
        batch_size = num_envs * num_steps

    args = Args()
    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    envs = ToyEnvs(args.num_envs, 4, args.seed)

    class Agent(nn.Module):  # type: ignore[misc,unused-ignore]  # Any without torch
        def __init__(self) -> None:
            super().__init__()
            self.critic = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))
            self.actor = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))

        def get_value(self, x: Any) -> Any:
            return self.critic(x)

        def get_action_and_value(self, x: Any, action: Any = None) -> tuple[Any, ...]:
            probs: Any = Categorical(logits=self.actor(x))  # its methods are untyped
            if action is None:
                action = probs.sample()
            return action, probs.log_prob(action), probs.entropy(), self.critic(x)

    run_name = "toy__ppo__1"
    writer = SummaryWriter(f"runs/{run_name}")
    telemetry = TelemetryWriter(f"runs/{run_name}.jsonl")
    bound, change = ValueBound(args.gamma), CriticChange()
    agent = Agent().to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # ALGO Logic: Storage setup
    obs = torch.zeros((args.num_steps, args.num_envs, 4)).to(device)
    actions = torch.zeros((args.num_steps, args.num_envs)).to(device)
    logprobs = torch.zeros((args.num_steps, args.num_envs)).to(device)
    rewards = torch.zeros((args.num_steps, args.num_envs)).to(device)
    dones = torch.zeros((args.num_steps, args.num_envs)).to(device)
    values = torch.zeros((args.num_steps, args.num_envs)).to(device)

    global_step = 0
    next_obs, _ = envs.reset(seed=args.seed)
    next_obs = torch.Tensor(next_obs).to(device)
    next_done = torch.zeros(args.num_envs).to(device)

    for _iteration in range(1, args.num_iterations + 1):
        for step in range(0, args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done

            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob

            next_obs, reward, terminations, truncations, _infos = envs.step(action.cpu().numpy())
            next_done = np.logical_or(terminations, truncations)
            rewards[step] = torch.tensor(reward).to(device).view(-1)
            next_obs, next_done = (
                torch.Tensor(next_obs).to(device),
                torch.Tensor(next_done).to(device),
            )

        # bootstrap value if not done
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards).to(device)
            deltas = torch.zeros_like(rewards).to(device)
            lastgaelam = 0
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal = 1.0 - next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - dones[t + 1]
                    nextvalues = values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                deltas[t] = delta
                advantages[t] = lastgaelam = (
                    delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                )
            returns = advantages + values

        # flatten the batch
        b_obs = obs.reshape((-1, 4))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)
        bound.see(rewards)
        metrics = compute_value_metrics(b_values, b_returns, deltas, bound=bound.range)
        metrics.critic_change = change.measure(agent.critic.parameters())
        telemetry.log(metrics, step=global_step)

        history.append(
            {
                "step": global_step,
                "rewards": rewards.clone(),
                "values": values.clone(),
                "dones": dones.clone(),
                "next_value": next_value.clone(),
                "next_done": next_done.clone(),
                "deltas": deltas.clone(),
                "advantages": advantages.clone(),
                "b_values": b_values.clone(),
                "b_returns": b_returns.clone(),
            }
        )

        # Optimizing the policy and value network
        b_inds = np.arange(args.batch_size)
        for _epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, args.batch_size, args.minibatch_size):
                mb_inds = b_inds[start : start + args.minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions.long()[mb_inds]
                )
                ratio = (newlogprob - b_logprobs[mb_inds]).exp()
                mb_advantages = b_advantages[mb_inds]
                mb_advantages = (mb_advantages - mb_advantages.mean()) / (
                    mb_advantages.std() + 1e-8
                )
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(
                    ratio, 1 - args.clip_coef, 1 + args.clip_coef
                )
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                v_loss = 0.5 * ((newvalue.view(-1) - b_returns[mb_inds]) ** 2).mean()
                loss = pg_loss - args.ent_coef * entropy.mean() + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    writer.close()
    telemetry.close()


def readme_cleanrl_diff() -> list[str]:
    """The lines of the README's diff for CleanRL's ppo.py."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```diff\n(.*?)```", readme, flags=re.S)
    (diff,) = [str(b) for b in blocks if "b_values = values.reshape(-1)" in b]
    return diff.splitlines()


def test_the_readme_puts_the_lines_where_this_loop_has_them() -> None:
    """Each added line follows the same line here as in the README (both stripped)."""
    source = [line.strip() for line in Path(__file__).read_text(encoding="utf-8").splitlines()]
    diff = readme_cleanrl_diff()
    added = [(i, line[1:].strip()) for i, line in enumerate(diff) if line.startswith("+")]
    assert len(added) >= 6, diff
    for i, line in added:
        assert line in source, f"{line!r} is not in this loop"
        before = diff[i - 1][1:].strip() if i else "..."
        if before != "...":
            assert (before, line) in set(itertools.pairwise(source)), (
                f"{line!r} does not follow {before!r} here"
            )


def test_a_cleanrl_shaped_loop_logs_its_rollouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = need("torch")
    torch.set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    history: list[dict[str, Any]] = []
    cleanrl_ppo(history)

    path = tmp_path / "runs" / "toy__ppo__1.jsonl"
    header, *logged = [json.loads(line) for line in path.read_text().splitlines()]
    assert header["value_diag_run"]["writer"] == "TelemetryWriter", "a run header first"
    assert [line["step"] for line in logged] == [256 * k for k in range(1, 7)]
    gamma, lam = 0.99, 0.95
    seen: list[float] = []
    for line, it in zip(logged, history, strict=True):
        r, v, d = (it[k].double().numpy() for k in ("rewards", "values", "dones"))
        next_values = np.concatenate([v[1:], it["next_value"].double().numpy()])
        ends = np.concatenate([d[1:], it["next_done"].double().numpy().reshape(1, -1)])
        assert ends[-1].any() or d.any(), "episodes end inside the rollouts"
        want = r + gamma * next_values * (1.0 - ends) - v
        deltas = it["deltas"].double().numpy()
        np.testing.assert_allclose(deltas, want, rtol=1e-5, atol=1e-5)
        # GAE over the kept deltas is the loop's advantages.
        adv = np.zeros_like(deltas)
        last = np.zeros(deltas.shape[1])
        for t in reversed(range(deltas.shape[0])):
            last = deltas[t] + gamma * lam * (1.0 - ends[t]) * last
            adv[t] = last
        np.testing.assert_allclose(adv, it["advantages"].double().numpy(), rtol=1e-4, atol=1e-4)
        metrics = compute_value_metrics(it["b_values"], it["b_returns"], it["deltas"])
        assert line["td_error_mean"] == pytest.approx(metrics.td_error_mean, rel=1e-12)
        assert line["explained_variance"] == pytest.approx(metrics.explained_variance, rel=1e-12)
        assert line["return_mean"] == pytest.approx(metrics.return_mean, rel=1e-12)
        # the value bound: the rewards of every rollout so far, over 1 - gamma
        seen += [float(x) for x in r.ravel()]
        low, high = min(0.0, min(seen)) / (1 - gamma), max(0.0, max(seen)) / (1 - gamma)
        assert line["value_bound_low"] == pytest.approx(low, rel=1e-6)
        assert line["value_bound_high"] == pytest.approx(high, rel=1e-6)
        # the critic is trained: its weights move between lines (nothing to compare the
        # first line's with)
        assert ("critic_change" in line) == (line is not logged[0])
        assert line is logged[0] or line["critic_change"] > 0
    proc = invoke(["once", str(path), "--format", "json"])
    assert proc.returncode == 0, proc.stderr.decode()
    frame = json.loads(proc.stdout)
    assert (frame["records"], frame["bad_lines"]) == (7, 0), "the header and six updates"
