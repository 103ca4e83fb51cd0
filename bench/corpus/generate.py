"""Train the labelled corpus of real runs that bench/verdicts.py scores.

python bench/corpus/generate.py [--jobs 2] [--only NAME ...] [--out bench/corpus]
python bench/corpus/generate.py --probes --out DIR   # runs at the corpus' edges, apart

Each run is a real Stable-Baselines3 PPO or A2C training (or a small PPO loop in the shape
of CleanRL's ppo.py, PPO in the shape of TorchRL's PPO tutorial, or RLlib's PPO) whose
rollouts are logged by value-diag's own producer: the SB3 callback
``ValueDiagnosticsCallback``, ``compute_value_metrics`` + ``TelemetryWriter``, or the TorchRL
and RLlib integrations' ``ValueDiagnostics``.
Faults are injected into the critic by design (see docs/verdicts.md), and each run's label
says what its critic is from which update on: ``labels.json``. A few runs are also written
again in esper-lite's event format, from the same rollouts (esper writes ``bellman_error``
as the mean |TD error|). Seeded, on the CPU, one thread per process: rerunning it gives the
same numbers on the same machine and library versions (the run header's start time aside).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, SupportsFloat

os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE: Final = Path(__file__).resolve().parent

HEALTHY: Final = "healthy"
BROKEN: Final = "broken"
DEGRADED: Final = "degraded"

KIND_OF_FAULT: Final[dict[str, str]] = {
    "none": HEALTHY,
    "vf_coef_0": BROKEN,
    "lr_blowup": BROKEN,
    "value_head_random": BROKEN,
    "terminal_as_truncation": BROKEN,
    "wrong_gamma": BROKEN,
    "unnormalised_returns": BROKEN,
    "vf_clip": BROKEN,
    "critic_frozen": DEGRADED,
    "truncation_as_terminal": DEGRADED,
}
"""The label each fault gives its run from the fault's onset; docs/verdicts.md says why."""

LR_BLOWUP: Final = 1e4
"""The learning rate is multiplied by this at the fault (Adam: 3e-4 becomes 3): every step
then moves each weight by about the learning rate, and the critic never settles."""
WRONG_GAMMA: Final = 0.9
"""The discount of the critic's targets in a wrong_gamma run (the algorithm's is 0.99)."""
RANDOM_HEAD_SCALE: Final = 50.0
"""A random value head's outputs spread this many RMS of the returns, around an offset
drawn from the same scale: its weights are then far larger than what the rest of the run
can move them by (about the learning rate per step), so the head cannot be learnt again
on the saturated layers' features before the run ends."""
RANDOM_GAIN: Final = 10.0
"""The orthogonal gain of the critic's hidden layers when they are drawn again: their tanh
units saturate, so V is a rough function of the state and their gradients vanish."""


@dataclass(frozen=True, slots=True)
class Spec:
    """One run of the corpus: what trains, at which scale, and which fault, when."""

    algo: str
    """"PPO" or "A2C" (Stable-Baselines3), "cleanrl" (the ppo.py-shaped loop), "torchrl"
    (TorchRL's PPO tutorial's shape) or "rllib" (RLlib's PPO)."""
    env: str
    seed: int
    fault: str = "none"
    at: int = 0
    """The fault acts after this many logged updates (0: from the start): onset = at + 1."""
    scale: float = 1.0
    """Rewards are multiplied by this (a gymnasium RewardWrapper)."""
    vecnormalize: bool = False
    """VecNormalize(norm_obs=True, norm_reward=True) around the environments (norm_obs only
    where the observations are a Box, as VecNormalize requires)."""
    updates: int = 40
    time_limit: int | None = None
    """The episodes' time limit in steps, if not the environment's own."""
    esper: bool = False
    """Also written in esper-lite's event format, as esper-<name>.jsonl."""
    hyper: tuple[tuple[str, Any], ...] = ()
    """Hyperparameters of the algorithm beyond the corpus' defaults for it."""

    @property
    def name(self) -> str:
        env = self.env.split("-")[0].lower().replace("continuous", "-cont")
        env += "" if self.time_limit is None else f"{self.time_limit}"
        parts = [self.algo.lower(), env]
        if self.scale != 1.0:
            parts.append(f"x{self.scale:g}")
        if self.vecnormalize:
            parts.append("vecnorm")
        parts.append(self.fault.replace("_", "-") if self.fault != "none" else "healthy")
        return "-".join(parts) + f"-s{self.seed}"

    @property
    def kind(self) -> str:
        return KIND_OF_FAULT[self.fault]

    @property
    def onset(self) -> int | None:
        return None if self.fault == "none" else self.at + 1


PENDULUM_ZOO: Final = (
    ("gamma", 0.9),
    ("learning_rate", 1e-3),
    ("gae_lambda", 0.95),
    ("ent_coef", 0.0),
    ("use_sde", True),
    ("sde_sample_freq", 4),
)
"""RL Baselines3 Zoo's PPO on Pendulum-v1 (its n_steps cut to the corpus' rollouts)."""
PENDULUM_LONG: Final = (("gamma", 0.99), *PENDULUM_ZOO[1:])
"""The same with SB3's default discount: a horizon of 100 steps in 200-step episodes, so
the time limit weighs on half of each episode's returns."""


MC_HYPER: Final = (("ent_coef", 0.0),)
SB3_ROLLOUT: Final = (("n_steps", 512), ("batch_size", 64))
"""SB3's default PPO rollout (2,048 steps of one environment) over the corpus' 4
environments, with SB3's default minibatch: one logged update = 2,048 transitions."""
RELU: Final = (("activation", "relu"),)
"""SB3's MlpPolicy with ReLU units instead of its default tanh."""
RLLIB_REACH: Final = (("lr", 3e-4), ("vf_clip_param", 1e6))
"""RLlib's PPO with Adam at SB3's 3e-4 instead of its 5e-5, and its value loss unclipped:
a critic that can reach CartPole's and Acrobot's returns (docs/verdicts.md, vf_clip)."""
ZOO_CARTPOLE: Final = (
    ("gamma", 0.98),
    ("gae_lambda", 0.8),
    ("n_epochs", 20),
    ("batch_size", 256),
    ("learning_rate", 1e-3),
    ("ent_coef", 0.0),
)
"""RL Baselines3 Zoo's PPO on CartPole-v1 (its schedules at their start, its 8 environments
of 32 steps left at the corpus's rollout)."""
ZOO_ACROBOT: Final = (("gae_lambda", 0.94), ("n_epochs", 4), ("ent_coef", 0.0))
"""RL Baselines3 Zoo's PPO on Acrobot-v1 (with VecNormalize; its 16 environments left at the
corpus's 4)."""
MID: Final = 24
"""Mid-run faults act after this many updates of 40, once a healthy critic has settled."""
FROZEN_AT: Final = 20
"""The critic is frozen after this many updates, while the policy is still improving."""
SHORT: Final = 100
"""A CartPole time limit that a policy of the corpus' length reaches: where V is about 60,
and the bootstrap a truncation needs is large."""


def specs() -> list[Spec]:
    """Every run of the corpus."""
    cp, ac, pe, mc = "CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0"
    md, fl, tx = "MountainCar-v0", "FrozenLake-v1", "Taxi-v3"
    return [
        # Healthy controls.
        Spec("PPO", cp, 1, esper=True),
        Spec("PPO", cp, 2),
        Spec("PPO", cp, 3),
        Spec("PPO", cp, 1, time_limit=SHORT),
        Spec("PPO", cp, 1, vecnormalize=True),
        Spec("PPO", cp, 1, scale=0.01),
        Spec("PPO", cp, 2, scale=0.01, vecnormalize=True),
        Spec("PPO", cp, 1, scale=100.0, vecnormalize=True),
        Spec("PPO", ac, 1),
        Spec("PPO", ac, 2, vecnormalize=True),
        Spec("PPO", pe, 1, vecnormalize=True, hyper=PENDULUM_ZOO, esper=True),
        Spec("PPO", pe, 2, vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("PPO", pe, 3, vecnormalize=True, hyper=PENDULUM_LONG),
        Spec("PPO", mc, 1, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", cp, 1),
        Spec("A2C", cp, 2, vecnormalize=True),
        Spec("A2C", ac, 1),
        Spec("cleanrl", cp, 1),
        Spec("cleanrl", cp, 2),
        # Broken from the start.
        Spec("PPO", cp, 1, "vf_coef_0", esper=True),
        Spec("PPO", cp, 2, "vf_coef_0", vecnormalize=True),
        Spec("A2C", cp, 1, "vf_coef_0"),
        Spec("cleanrl", cp, 1, "vf_coef_0"),
        Spec("PPO", cp, 1, "unnormalised_returns", scale=100.0),
        Spec("PPO", pe, 1, "unnormalised_returns"),
        # Broken mid-run.
        Spec("PPO", cp, 1, "lr_blowup", at=MID),
        Spec("PPO", cp, 2, "lr_blowup", at=MID, vecnormalize=True),
        Spec("A2C", cp, 1, "lr_blowup", at=MID),
        Spec("PPO", cp, 1, "value_head_random", at=MID, esper=True),
        Spec("PPO", pe, 1, "value_head_random", at=MID, vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("A2C", cp, 2, "value_head_random", at=MID),
        Spec("cleanrl", cp, 2, "value_head_random", at=MID),
        Spec("PPO", cp, 1, "terminal_as_truncation", at=MID),
        Spec("PPO", cp, 1, "wrong_gamma", at=MID),
        Spec("PPO", ac, 1, "wrong_gamma", at=MID),
        # Degraded mid-run.
        Spec("PPO", cp, 1, "critic_frozen", at=FROZEN_AT),
        Spec("PPO", ac, 1, "critic_frozen", at=FROZEN_AT),
        Spec("A2C", cp, 1, "critic_frozen", at=FROZEN_AT),
        Spec("PPO", cp, 1, "truncation_as_terminal", at=MID, time_limit=SHORT),
        Spec("PPO", cp, 2, "truncation_as_terminal", at=MID, time_limit=SHORT),
        # Held out: trained after the rules above were set, on seeds, scales and pairs of
        # algorithm and environment the runs above do not have, then scored as they came
        # (docs/verdicts.md, "Runs held out").
        Spec("PPO", cp, 7),
        Spec("PPO", cp, 8, vecnormalize=True),
        Spec("PPO", ac, 7, scale=0.01),
        Spec("PPO", ac, 8, scale=100.0, vecnormalize=True),
        Spec("PPO", pe, 7, vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("PPO", mc, 7, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", ac, 7, vecnormalize=True),
        Spec("A2C", cp, 7, scale=0.01),
        Spec("cleanrl", cp, 7),
        Spec("PPO", ac, 7, "vf_coef_0"),
        Spec("PPO", ac, 7, "lr_blowup", at=MID),
        Spec("PPO", ac, 7, "value_head_random", at=MID),
        Spec("A2C", ac, 7, "value_head_random", at=MID),
        Spec("PPO", cp, 7, "wrong_gamma", at=MID, vecnormalize=True),
        Spec("PPO", cp, 7, "critic_frozen", at=FROZEN_AT, scale=0.01),
        Spec("PPO", cp, 7, "truncation_as_terminal", at=MID, time_limit=SHORT),
        # Held out, second batch: trained after the rules of the first were set, scored as
        # they came (docs/verdicts.md). The blown-up Pendulum run crashes one update after
        # its onset, as its NaN policy stops SB3: its file ends there.
        Spec("PPO", cp, 11, time_limit=SHORT),
        Spec("PPO", ac, 11, scale=0.01, vecnormalize=True),
        Spec("PPO", mc, 11, scale=100.0, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", pe, 11, vecnormalize=True),
        Spec("A2C", cp, 11, scale=100.0, vecnormalize=True),
        Spec("cleanrl", cp, 11),
        Spec("PPO", pe, 11, vecnormalize=True, hyper=PENDULUM_ZOO, scale=0.01),
        Spec("cleanrl", cp, 11, "vf_coef_0"),
        Spec("cleanrl", cp, 12, "value_head_random", at=MID),
        Spec("A2C", cp, 11, "wrong_gamma", at=MID),
        Spec("PPO", pe, 11, "lr_blowup", at=MID, vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("PPO", ac, 11, "unnormalised_returns", scale=100.0),
        Spec("A2C", ac, 11, "critic_frozen", at=FROZEN_AT),
        Spec("PPO", ac, 11, "lr_blowup", at=MID, vecnormalize=True),
        Spec("PPO", ac, 12, "lr_blowup", at=MID),
        Spec("PPO", cp, 11, "value_head_random", at=MID, scale=0.01),
        # Held out, fourth batch (the probes below were the third): trained after the value
        # bound moved to V's mean, scored as they came (docs/verdicts.md).
        Spec("PPO", ac, 31),
        Spec("PPO", pe, 31, scale=100.0, vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("PPO", mc, 31, scale=0.01, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", ac, 31, scale=0.01),
        Spec("PPO", cp, 31, scale=100.0, vecnormalize=True, esper=True),
        Spec("cleanrl", cp, 31),
        Spec("PPO", cp, 31, time_limit=SHORT, vecnormalize=True),
        Spec("A2C", cp, 32),
        Spec("PPO", pe, 31, "vf_coef_0", vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("A2C", ac, 31, "lr_blowup", at=MID),
        Spec("PPO", mc, 31, "value_head_random", at=MID, vecnormalize=True, hyper=MC_HYPER),
        Spec("PPO", pe, 31, "wrong_gamma", at=MID, vecnormalize=True, hyper=PENDULUM_LONG),
        Spec("A2C", cp, 31, "vf_coef_0", scale=0.01),
        Spec("PPO", ac, 31, "value_head_random", at=MID, scale=100.0, vecnormalize=True),
        Spec("cleanrl", cp, 31, "value_head_random", at=MID),
        Spec("PPO", pe, 31, "critic_frozen", at=FROZEN_AT, vecnormalize=True, hyper=PENDULUM_ZOO),
        # Held out, fifth batch: trained after the fourth's rules, on hyperparameters the
        # runs above do not have (SB3's default rollout of 2,048 transitions per update, 20
        # epochs, lambda = 1, other discounts), scored as they came (docs/verdicts.md).
        Spec("PPO", cp, 41, hyper=SB3_ROLLOUT),
        Spec("PPO", ac, 41, vecnormalize=True, hyper=(("gae_lambda", 1.0),)),
        Spec("PPO", cp, 42, vecnormalize=True, hyper=(("gamma", 0.995),)),
        Spec("PPO", mc, 41, vecnormalize=True, hyper=(*MC_HYPER, ("n_epochs", 20))),
        Spec("PPO", ac, 42, hyper=(("n_epochs", 20), ("batch_size", 256))),
        Spec("PPO", pe, 41, scale=10.0, vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("A2C", ac, 41, scale=100.0, vecnormalize=True),
        Spec("A2C", cp, 41, hyper=(("gamma", 0.95),)),
        Spec("cleanrl", cp, 41, "unnormalised_returns", scale=100.0),  # trained as healthy
        Spec("PPO", ac, 41, "vf_coef_0", vecnormalize=True),
        Spec("PPO", mc, 41, "lr_blowup", at=MID, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", pe, 41, "value_head_random", at=MID, vecnormalize=True),
        Spec("PPO", ac, 41, "wrong_gamma", at=MID, vecnormalize=True),
        Spec("PPO", cp, 41, "value_head_random", at=MID, hyper=SB3_ROLLOUT),
        Spec("PPO", cp, 41, "lr_blowup", at=MID, scale=0.01, hyper=(("n_epochs", 20),)),
        Spec("A2C", ac, 41, "vf_coef_0", vecnormalize=True),
        Spec("PPO", ac, 42, "critic_frozen", at=FROZEN_AT, vecnormalize=True),
        Spec("PPO", cp, 41, "truncation_as_terminal", at=MID, time_limit=SHORT, vecnormalize=True),
        # Held out, sixth batch: trained after a critic with one value for every state became
        # critical, mostly with ReLU units (whose dead units can make such a critic),
        # scored as they came (docs/verdicts.md).
        Spec("PPO", cp, 51, hyper=RELU),
        Spec("PPO", ac, 51, vecnormalize=True, hyper=RELU),
        Spec("PPO", pe, 51, vecnormalize=True, hyper=(*PENDULUM_ZOO, *RELU)),
        Spec("A2C", cp, 51, hyper=RELU),
        Spec("PPO", mc, 51, scale=0.01, vecnormalize=True, hyper=(*MC_HYPER, *RELU)),
        Spec("A2C", ac, 51, hyper=(("n_steps", 16),)),
        Spec("PPO", cp, 51, time_limit=SHORT, hyper=SB3_ROLLOUT),
        Spec("PPO", ac, 52, scale=0.01, hyper=(("gamma", 0.98),)),
        Spec("PPO", cp, 51, "lr_blowup", at=MID, hyper=RELU),
        Spec("PPO", ac, 51, "lr_blowup", at=MID, vecnormalize=True, hyper=RELU),
        Spec("A2C", cp, 51, "lr_blowup", at=MID, hyper=RELU),
        Spec("PPO", pe, 51, "vf_coef_0", vecnormalize=True, hyper=(*PENDULUM_ZOO, *RELU)),
        Spec("PPO", ac, 51, "value_head_random", at=MID, scale=0.01),
        Spec("A2C", ac, 51, "wrong_gamma", at=MID, vecnormalize=True),
        Spec("PPO", cp, 51, "critic_frozen", at=FROZEN_AT, hyper=RELU),
        # Held out, seventh batch: trained after a critic whose weights moved more than their
        # size became critical, with learning rates up to 10 times the defaults, small
        # networks and more ReLU critics, scored as they came (docs/verdicts.md).
        Spec("PPO", cp, 61, hyper=(("learning_rate", 3e-3),)),
        Spec("PPO", ac, 61, vecnormalize=True, hyper=(("learning_rate", 1e-3), ("n_epochs", 20))),
        Spec("PPO", cp, 62, "unnormalised_returns", hyper=(("width", 16),)),  # trained as healthy
        Spec("A2C", cp, 61, hyper=(("learning_rate", 3e-3),)),
        Spec("A2C", ac, 61, hyper=RELU),
        Spec("A2C", cp, 62, hyper=RELU),
        Spec(
            "PPO",
            pe,
            61,
            vecnormalize=True,
            hyper=(*PENDULUM_ZOO[:1], ("learning_rate", 3e-3), *PENDULUM_ZOO[2:]),
        ),
        Spec("PPO", mc, 61, scale=100.0, vecnormalize=True, hyper=(*MC_HYPER, *RELU)),
        Spec("cleanrl", cp, 61),
        Spec("PPO", cp, 61, "lr_blowup", at=MID, hyper=(("learning_rate", 1e-3),)),
        Spec(
            "PPO",
            pe,
            61,
            "value_head_random",
            at=MID,
            vecnormalize=True,
            hyper=(*PENDULUM_ZOO, *RELU),
        ),
        Spec("A2C", ac, 61, "vf_coef_0", scale=0.01),
        Spec("PPO", ac, 61, "terminal_as_truncation", at=MID),
        Spec("PPO", mc, 61, "wrong_gamma", at=MID, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", pe, 61, "critic_frozen", at=FROZEN_AT, vecnormalize=True),
        # Held out, eighth batch: trained after the bootstrap check learnt to tell a lean from
        # chance by the line's samples, with returns that carry a lean little (lambda 0 and
        # 0.8, A2C's 1-step rollouts) and few samples a line, scored as they came.
        Spec("PPO", cp, 71, hyper=(("gae_lambda", 0.0),)),
        Spec("PPO", ac, 71, vecnormalize=True, hyper=(("gae_lambda", 0.8),)),
        Spec("A2C", cp, 71, hyper=(("n_steps", 1),)),
        Spec("PPO", pe, 71, vecnormalize=True, hyper=PENDULUM_LONG),
        Spec("PPO", mc, 71, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", ac, 71, scale=0.01, vecnormalize=True),
        Spec("cleanrl", cp, 71, scale=0.01),
        Spec("PPO", cp, 72, time_limit=SHORT, vecnormalize=True, hyper=(("gae_lambda", 0.9),)),
        Spec("PPO", ac, 71, "wrong_gamma", at=MID, hyper=(("gae_lambda", 0.8),)),
        Spec("A2C", pe, 71, "wrong_gamma", at=MID, vecnormalize=True),
        Spec("A2C", pe, 71, "lr_blowup", at=MID, vecnormalize=True),
        Spec("PPO", cp, 71, "value_head_random", at=MID, hyper=(("gae_lambda", 0.0),)),
        Spec("PPO", mc, 71, "vf_coef_0", vecnormalize=True, hyper=MC_HYPER),
        Spec("PPO", ac, 71, "critic_frozen", at=FROZEN_AT, scale=0.01),
        Spec("PPO", cp, 72, "truncation_as_terminal", at=MID, time_limit=SHORT),
        # Held out, ninth batch: trained after a critic that never moved became critical, on
        # pairs and scales the runs above do not have, scored as they came.
        Spec("PPO", cp, 81, "unnormalised_returns", scale=10.0),  # returns past the head's reach
        Spec("PPO", ac, 81, scale=0.1, vecnormalize=True),
        Spec("PPO", pe, 81, scale=0.1, vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("A2C", mc, 81, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", cp, 81, scale=0.01, vecnormalize=True),
        # scored as healthy, then labelled by the head's reach: 800 Adam steps in the run
        Spec("PPO", cp, 82, "unnormalised_returns", hyper=(("n_epochs", 5), ("batch_size", 256))),
        Spec("cleanrl", cp, 81),
        Spec("PPO", ac, 82, vecnormalize=True, hyper=(("gamma", 0.999),)),
        Spec("A2C", pe, 81, "vf_coef_0", vecnormalize=True),
        Spec("PPO", ac, 81, "vf_coef_0", scale=100.0, vecnormalize=True),
        Spec("PPO", cp, 81, "vf_coef_0", time_limit=SHORT),
        Spec("PPO", cp, 81, "wrong_gamma", at=MID, scale=0.01),
        Spec("PPO", pe, 81, "lr_blowup", at=MID, vecnormalize=True, hyper=PENDULUM_ZOO),
        Spec("A2C", ac, 81, "value_head_random", at=MID, vecnormalize=True),
        Spec("A2C", cp, 81, "critic_frozen", at=FROZEN_AT, scale=0.01),
        # Held out, tenth batch: trained after the value bound read V's spread as well as its
        # mean, with critics whose values spread wide against the bound (A2C, ReLU units,
        # high learning rates, short horizons, small rewards), scored as they came.
        Spec("A2C", cp, 91, hyper=(*RELU, ("learning_rate", 3e-3))),
        Spec("A2C", ac, 91, scale=0.01, hyper=RELU),
        Spec("A2C", pe, 91, vecnormalize=True, hyper=RELU),
        Spec("PPO", ac, 91, hyper=(("gamma", 0.95),)),
        Spec("PPO", cp, 91, time_limit=SHORT, hyper=(("gamma", 0.9),)),
        Spec("A2C", cp, 92, hyper=(("gamma", 0.9),)),
        Spec("cleanrl", cp, 91, scale=0.1),
        Spec("PPO", mc, 91, vecnormalize=True, hyper=(*MC_HYPER, *RELU, ("learning_rate", 1e-3))),
        Spec("A2C", ac, 92, vecnormalize=True, hyper=(("n_steps", 16), *RELU)),
        Spec("A2C", ac, 91, "lr_blowup", at=MID, hyper=RELU),
        Spec("A2C", cp, 91, "lr_blowup", at=MID, scale=0.01),
        Spec("PPO", ac, 91, "lr_blowup", at=MID),
        Spec("A2C", pe, 91, "value_head_random", at=MID, vecnormalize=True),
        Spec("PPO", pe, 91, "lr_blowup", at=MID, vecnormalize=True, hyper=(*PENDULUM_ZOO, *RELU)),
        Spec("A2C", mc, 91, "lr_blowup", at=MID, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", ac, 91, "critic_frozen", at=FROZEN_AT, hyper=RELU),
        # Held out, eleventh batch: PPO in TorchRL's tutorial shape and RLlib's PPO, labelled
        # by the heads' reach before training (docs/verdicts.md), scored as they came.
        Spec("torchrl", cp, 101),
        Spec("torchrl", cp, 102),
        Spec("torchrl", ac, 101),
        Spec("torchrl", pe, 101, "unnormalised_returns"),  # raw rewards, past the reach
        Spec("torchrl", cp, 101, "vf_coef_0"),
        Spec("torchrl", cp, 101, "lr_blowup", at=MID),
        Spec("torchrl", ac, 101, "lr_blowup", at=MID),
        Spec("rllib", cp, 101, hyper=RLLIB_REACH),
        Spec("rllib", ac, 101, hyper=RLLIB_REACH),
        Spec("rllib", cp, 101, "vf_clip"),  # RLlib's defaults
        Spec("rllib", ac, 101, "vf_clip"),
        Spec("rllib", cp, 101, "vf_coef_0", hyper=RLLIB_REACH),
        # Held out, twelfth batch: the TorchRL-shaped loop's critic frozen, or its head
        # drawn again, mid-run, beside two healthy runs, scored as they came.
        Spec("torchrl", cp, 111),
        Spec("torchrl", ac, 111),
        Spec("torchrl", cp, 111, "critic_frozen", at=FROZEN_AT),
        Spec("torchrl", ac, 111, "critic_frozen", at=FROZEN_AT),
        Spec("torchrl", cp, 111, "value_head_random", at=MID),
        Spec("torchrl", ac, 111, "value_head_random", at=MID),
        # Held out, thirteenth batch: an environment the runs above do not have,
        # MountainCar-v0 (-1 a step until a goal a random policy seldom reaches, 200-step
        # episodes), normalised as RL Baselines3 Zoo does, scored as they came.
        Spec("PPO", md, 121, vecnormalize=True, hyper=MC_HYPER),
        Spec("PPO", md, 122, vecnormalize=True, hyper=(*MC_HYPER, ("gae_lambda", 0.98))),
        Spec("PPO", md, 121, scale=0.01, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", md, 121, vecnormalize=True, hyper=MC_HYPER),
        Spec("PPO", md, 121, "vf_coef_0", vecnormalize=True, hyper=MC_HYPER),
        Spec("PPO", md, 121, "lr_blowup", at=MID, vecnormalize=True, hyper=MC_HYPER),
        Spec("A2C", md, 121, "lr_blowup", at=MID, vecnormalize=True, hyper=MC_HYPER),
        Spec("PPO", md, 121, "value_head_random", at=MID, vecnormalize=True, hyper=MC_HYPER),
        Spec("PPO", md, 121, "wrong_gamma", at=MID, vecnormalize=True, hyper=MC_HYPER),
        Spec("PPO", md, 121, "critic_frozen", at=FROZEN_AT, vecnormalize=True, hyper=MC_HYPER),
        Spec("cleanrl", ac, 121),
        Spec("cleanrl", ac, 121, scale=0.01),
        Spec("cleanrl", ac, 121, "vf_coef_0"),
        Spec("cleanrl", ac, 121, "value_head_random", at=MID),
        # Held out, fourteenth batch: RLlib's PPO with its critic frozen, drawn again or its
        # learning rate blown up mid-run, beside two healthy runs, scored as they came.
        Spec("rllib", cp, 131, hyper=RLLIB_REACH),
        Spec("rllib", ac, 131, hyper=RLLIB_REACH),
        Spec("rllib", cp, 131, "critic_frozen", at=FROZEN_AT, hyper=RLLIB_REACH),
        Spec("rllib", ac, 131, "critic_frozen", at=FROZEN_AT, hyper=RLLIB_REACH),
        Spec("rllib", cp, 131, "value_head_random", at=MID, hyper=RLLIB_REACH),
        Spec("rllib", ac, 131, "value_head_random", at=MID, hyper=RLLIB_REACH),
        Spec("rllib", cp, 131, "lr_blowup", at=MID, hyper=RLLIB_REACH),
        Spec("rllib", ac, 131, "lr_blowup", at=MID, hyper=RLLIB_REACH),
        # Held out, fifteenth batch: two environments with discrete states, FrozenLake-v1
        # (slippery, a reward of 1 at the goal and 0 elsewhere) and Taxi-v3 (-1 a step, 20
        # for a delivery, -10 for an illegal move), scored as they came.
        Spec("PPO", fl, 141),
        Spec("A2C", fl, 141),
        Spec("PPO", fl, 141, "vf_coef_0"),
        Spec("PPO", fl, 141, "lr_blowup", at=MID),
        Spec("PPO", fl, 141, "value_head_random", at=MID),
        Spec("PPO", fl, 141, "wrong_gamma", at=MID),
        Spec("PPO", fl, 141, "critic_frozen", at=FROZEN_AT),
        Spec("PPO", tx, 141, vecnormalize=True),
        Spec("A2C", tx, 141, vecnormalize=True),
        Spec("PPO", tx, 141, "vf_coef_0", vecnormalize=True),
        Spec("PPO", tx, 141, "value_head_random", at=MID, vecnormalize=True),
        # Held out, sixteenth batch: the TorchRL-shaped loop with TorchRL's VecNormV2 on its
        # observations and rewards, on Pendulum and Acrobot, scored as they came.
        Spec("torchrl", pe, 151, vecnormalize=True),
        Spec("torchrl", pe, 152, vecnormalize=True),
        Spec("torchrl", ac, 151, vecnormalize=True),
        Spec("torchrl", pe, 151, "vf_coef_0", vecnormalize=True),
        Spec("torchrl", pe, 151, "lr_blowup", at=MID, vecnormalize=True),
        Spec("torchrl", pe, 151, "value_head_random", at=MID, vecnormalize=True),
        Spec("torchrl", pe, 151, "critic_frozen", at=FROZEN_AT, vecnormalize=True),
        Spec("torchrl", ac, 151, "value_head_random", at=MID, vecnormalize=True),
        # Held out, seventeenth batch: SB3's PPO with RL Baselines3 Zoo's hyperparameters for
        # CartPole and Acrobot (on the corpus's 4 environments of 256 steps), scored as they
        # came.
        Spec("PPO", cp, 161, hyper=ZOO_CARTPOLE),
        Spec("PPO", cp, 161, "lr_blowup", at=MID, hyper=ZOO_CARTPOLE),
        Spec("PPO", cp, 161, "value_head_random", at=MID, hyper=ZOO_CARTPOLE),
        Spec("PPO", cp, 161, "critic_frozen", at=FROZEN_AT, hyper=ZOO_CARTPOLE),
        Spec("PPO", ac, 161, vecnormalize=True, hyper=ZOO_ACROBOT),
        Spec("PPO", ac, 161, "vf_coef_0", vecnormalize=True, hyper=ZOO_ACROBOT),
        Spec("PPO", ac, 161, "wrong_gamma", at=MID, vecnormalize=True, hyper=ZOO_ACROBOT),
        Spec("PPO", ac, 161, "value_head_random", at=MID, vecnormalize=True, hyper=ZOO_ACROBOT),
    ]


def probes() -> list[Spec]:
    """Runs with no fault injected at the edges of what the corpus holds (rewards x0.001 and
    x1000, other discounts and epochs), trained with --probes and not in the corpus:
    docs/verdicts.md says what they showed."""
    cp, ac, pe, mc = "CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0"
    return [
        Spec("PPO", cp, 21, scale=0.001),
        Spec("PPO", cp, 22, scale=1000.0),
        Spec("PPO", ac, 21, scale=0.001),
        Spec("PPO", ac, 22, scale=1000.0, vecnormalize=True),
        Spec("A2C", cp, 21, scale=0.001),
        Spec("A2C", ac, 22, scale=1000.0),
        Spec("PPO", cp, 23, hyper=(("gamma", 0.999), ("gae_lambda", 1.0))),
        Spec("PPO", ac, 23, hyper=(("gamma", 0.95), ("n_epochs", 20))),
        Spec("PPO", pe, 21, vecnormalize=True, hyper=PENDULUM_ZOO, scale=1000.0),
        Spec("A2C", cp, 23, hyper=(("gamma", 0.999),)),
        Spec("PPO", mc, 21, vecnormalize=True, hyper=MC_HYPER, scale=0.001),
        Spec("cleanrl", cp, 21),
    ]


# --- Stable-Baselines3 ------------------------------------------------------------------------

N_ENVS: Final = 4
PPO_STEPS: Final = 256
"""Steps per environment in a PPO rollout: one logged update = 1,024 transitions."""
A2C_ENVS: Final = 8
A2C_STEPS: Final = 5
A2C_ROLLOUTS: Final = 25
"""A2C's 40-transition rollouts (SB3's default n_steps) are logged 25 at a time: 1,000."""


def line_rollouts(spec: Spec) -> int:
    """Rollouts per logged update."""
    return A2C_ROLLOUTS if spec.algo == "A2C" else 1


def _make_env(spec: Spec) -> Any:
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    scale = spec.scale

    class Scaled(gym.RewardWrapper):  # type: ignore[misc,type-arg,unused-ignore]
        def reward(self, reward: SupportsFloat) -> float:
            return float(reward) * scale

    n_envs = A2C_ENVS if spec.algo == "A2C" else N_ENVS
    wrapper = Scaled if scale != 1.0 else None
    kwargs = {} if spec.time_limit is None else {"max_episode_steps": spec.time_limit}
    venv = make_vec_env(
        spec.env, n_envs=n_envs, seed=spec.seed, wrapper_class=wrapper, env_kwargs=kwargs
    )
    venv = _bootstrap_class()(venv)
    if spec.vecnormalize:
        box = isinstance(venv.observation_space, gym.spaces.Box)  # not a state's index
        venv = VecNormalize(venv, norm_obs=box, norm_reward=True, gamma=_gamma(spec))
    return venv


def _gamma(spec: Spec) -> float:
    return float(dict(spec.hyper).get("gamma", 0.99))


@functools.cache
def _bootstrap_class() -> Any:
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class _Bootstrap(VecEnvWrapper):  # type: ignore[misc,unused-ignore]
        """Passes steps through; once ``mode`` is set, rewrites how episode ends look to SB3.

        SB3 bootstraps gamma * V(terminal observation) into the reward of an episode that
        ended with ``infos[i]["TimeLimit.truncated"]``. Mode "drop" removes that flag (a
        time limit taken for a terminal state); mode "add" sets it on every episode end (a
        real terminal state bootstrapped as if the episode went on).
        """

        def __init__(self, venv: Any) -> None:
            super().__init__(venv)
            self.mode: str | None = None

        def reset(self) -> Any:
            return self.venv.reset()

        def step_wait(self) -> Any:
            obs, rewards, dones, infos = self.venv.step_wait()
            if self.mode is not None:
                for i, done in enumerate(dones):
                    if done:
                        infos[i]["TimeLimit.truncated"] = self.mode == "add"
            return obs, rewards, dones, infos

    return _Bootstrap


def _target_gamma_buffer() -> type:
    from stable_baselines3.common.buffers import RolloutBuffer

    class TargetGammaBuffer(RolloutBuffer):  # type: ignore[misc,unused-ignore]
        """SB3's buffer; with ``target_gamma`` set, the critic's targets use that discount.

        The advantages (the policy's) keep the algorithm's gamma; ``returns``, what the
        value head is regressed on, are the GAE returns under ``target_gamma``.
        """

        target_gamma: float | None = None

        def compute_returns_and_advantage(self, last_values: Any, dones: Any) -> None:
            super().compute_returns_and_advantage(last_values, dones)
            if self.target_gamma is None:
                return
            advantages, gamma = self.advantages.copy(), self.gamma
            self.gamma = self.target_gamma
            try:
                super().compute_returns_and_advantage(last_values, dones)
            finally:
                self.gamma = gamma
            self.advantages = advantages

    return TargetGammaBuffer


def _critic_parameters(policy: Any) -> list[Any]:
    """The value head and the layers only it uses (SB3's MlpPolicy keeps them apart)."""
    return [*policy.mlp_extractor.value_net.parameters(), *policy.value_net.parameters()]


def randomise_critic(
    hidden: Sequence[Any], head: Any, latent_of: Callable[[], Any], returns: Any, rng: Any
) -> None:
    """Draws new weights for the critic's layers, far beyond the returns' scale.

    Args:
        hidden: the critic's own ``nn.Linear`` layers before the head, drawn again with an
            orthogonal gain of RANDOM_GAIN (their tanh units saturate).
        head: the ``nn.Linear(n, 1)`` that gives V(s).
        latent_of: the head's inputs on the latest rollout's observations, ``(N, n)``,
            computed with the new hidden layers.
        returns: the latest rollout's returns, to size the head by.
        rng: a ``torch.Generator``.
    """
    import torch

    with torch.no_grad():
        for layer in hidden:
            torch.nn.init.orthogonal_(layer.weight, RANDOM_GAIN, generator=rng)
            layer.bias.zero_()
        latent = latent_of()
        rms = float(torch.sqrt(torch.mean(torch.as_tensor(returns, dtype=torch.float64) ** 2)))
        rms = max(rms, 1e-6)
        weight = torch.randn(head.weight.shape, generator=rng)
        spread = float((latent @ weight.T).std()) or 1.0
        head.weight.copy_(weight * (RANDOM_HEAD_SCALE * rms / spread))
        offset = float(torch.randn((), generator=rng)) * RANDOM_HEAD_SCALE * rms
        head.bias.fill_(offset)


def _sb3_callbacks(spec: Spec, path: Path, capture: list[dict[str, float]]) -> list[Any]:
    from stable_baselines3.common.callbacks import BaseCallback

    from value_diag.integrations.sb3 import ValueDiagnosticsCallback

    every = line_rollouts(spec)
    # min_samples is one line's worth of rollouts, so the lines fall where Gather counts them.
    diag = ValueDiagnosticsCallback(path, min_samples=every * _rollout_size(spec), truncate=True)

    class Gather(BaseCallback):  # type: ignore[misc,unused-ignore]
        """Logs every ``every`` rollouts, then injects the fault after the ``at``-th line."""

        def __init__(self) -> None:
            super().__init__()
            self.rollouts = 0
            self.rng: Any = None

        def _on_step(self) -> bool:
            return True

        def _on_rollout_end(self) -> None:
            import torch

            self.rollouts += 1
            if spec.esper and diag.last_rollout is not None:
                capture.append(esper_extras(*diag.last_rollout))
            if self.rollouts != spec.at * every or spec.fault == "none":
                return
            model: Any = self.model
            if spec.fault == "lr_blowup":
                lr = model.lr_schedule(1.0) * LR_BLOWUP
                model.lr_schedule = lambda _progress: lr
            elif spec.fault == "critic_frozen":
                for p in _critic_parameters(model.policy):
                    p.requires_grad_(False)
            elif spec.fault == "value_head_random":
                buffer = model.rollout_buffer
                obs = torch.as_tensor(buffer.observations.reshape(-1, *buffer.obs_shape))
                policy: Any = model.policy

                def latent_of() -> Any:
                    features = policy.extract_features(obs, policy.vf_features_extractor)
                    return policy.mlp_extractor.forward_critic(features)

                hidden = [m for m in policy.mlp_extractor.value_net if hasattr(m, "weight")]
                rng = torch.Generator().manual_seed(spec.seed)
                randomise_critic(hidden, policy.value_net, latent_of, buffer.returns, rng)
            elif spec.fault == "wrong_gamma":
                model.rollout_buffer.target_gamma = WRONG_GAMMA
            elif spec.fault in ("terminal_as_truncation", "truncation_as_terminal"):
                env: Any = model.get_env()
                while not isinstance(env, _bootstrap_class()):
                    env = env.venv
                env.mode = "add" if spec.fault == "terminal_as_truncation" else "drop"
            else:
                raise ValueError(f"no mid-run injection for {spec.fault}")

    return [diag, Gather()]


def _rollout_size(spec: Spec) -> int:
    if spec.algo == "A2C":
        return A2C_ENVS * int(dict(spec.hyper).get("n_steps", A2C_STEPS))
    return N_ENVS * int(dict(spec.hyper).get("n_steps", PPO_STEPS))


def train_sb3(spec: Spec, path: Path) -> list[dict[str, float]]:
    """Trains one SB3 run, logging it to ``path``; returns esper's extras per update."""
    import torch
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.logger import Logger

    if spec.esper and line_rollouts(spec) != 1:
        raise ValueError(f"{spec.name}: esper's copy needs one rollout per logged update")
    torch.set_num_threads(1)
    torch.manual_seed(spec.seed)
    capture: list[dict[str, float]] = []
    env = _make_env(spec)
    kwargs: dict[str, Any] = {"seed": spec.seed, "device": "cpu", "verbose": 0}
    if spec.algo == "PPO":
        kwargs |= {"n_steps": PPO_STEPS, "batch_size": 128}
        cls: Any = PPO
    else:
        cls = A2C
    if spec.fault == "vf_coef_0":
        kwargs["vf_coef"] = 0.0
    if spec.fault == "wrong_gamma":
        kwargs["rollout_buffer_class"] = _target_gamma_buffer()
    kwargs |= dict(spec.hyper)
    policy: dict[str, Any] = {}
    if kwargs.pop("activation", "tanh") == "relu":
        policy["activation_fn"] = torch.nn.ReLU
    if "width" in kwargs:  # two hidden layers of that many units, for the actor and the critic
        policy["net_arch"] = [kwargs.pop("width")] * 2
    if policy:
        kwargs["policy_kwargs"] = policy
    if spec.fault == "unnormalised_returns":
        kwargs.pop("gamma", None)  # SB3's defaults, as a first try on the environment runs
    model = cls("MlpPolicy", env, **kwargs)
    model.set_logger(Logger(None, []))  # SB3's own would make a folder in the temp dir
    callbacks = _sb3_callbacks(spec, path, capture)
    steps = spec.updates * line_rollouts(spec) * _rollout_size(spec)
    try:
        model.learn(total_timesteps=steps, callback=CallbackList(callbacks))
    except ValueError as exc:  # torch refuses a NaN policy: the run crashed, as real ones do
        if spec.fault == "none":
            raise
        print(f"{spec.name}: training crashed ({str(exc).splitlines()[0][:80]}...)", flush=True)
    env.close()
    return capture


# --- the CleanRL-shaped loop ------------------------------------------------------------------


def train_cleanrl(spec: Spec, path: Path) -> list[dict[str, float]]:
    """PPO in the shape and names of CleanRL's ppo.py, logging as the README places it.

    CleanRL's defaults for CartPole (4 environments of 128 steps, 4 epochs of 4 minibatches,
    Adam 2.5e-4 annealed, GAE 0.95, clip 0.2, vf_coef 0.5, ent_coef 0.01), with the reward
    normalisation of CleanRL's ppo_continuous_action.py: without it the critic, at Adam's
    step size, needs far more than the corpus' 30 updates to reach CartPole's returns. As
    in ppo.py, an episode's end by truncation is treated as a terminal state. The value
    bound is the raw rewards so far in each environment's normaliser's current units
    (``ValueBound.range_at``), over the environments.
    """
    import gymnasium as gym
    import numpy as np
    import torch
    from torch import nn, optim
    from torch.distributions.categorical import Categorical

    from value_diag import CriticChange, TelemetryWriter, ValueBound, compute_value_metrics

    class Args:
        seed, num_envs, num_steps, num_iterations = spec.seed, 4, 128, spec.updates
        learning_rate, gamma, gae_lambda, anneal_lr = 2.5e-4, 0.99, 0.95, True
        update_epochs, num_minibatches, clip_coef = 4, 4, 0.2
        vf_coef = 0.0 if spec.fault == "vf_coef_0" else 0.5
        ent_coef, max_grad_norm = 0.01, 0.5
        batch_size = num_envs * num_steps
        minibatch_size = batch_size // num_minibatches

    args = Args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    device = torch.device("cpu")

    class SeenRewards(gym.RewardWrapper):  # type: ignore[misc,type-arg,unused-ignore]
        """Shows each raw reward to the value bound of its environment."""

        def __init__(self, env: Any, bound: ValueBound) -> None:
            super().__init__(env)
            self.bound = bound

        def reward(self, reward: Any) -> Any:
            self.bound.see([float(reward)])
            return reward

    # One normaliser, and so one value bound of raw rewards, for each environment.
    bounds = [ValueBound(args.gamma) for _ in range(args.num_envs)]
    normalisers: list[Any] = []

    def make_env(bound: ValueBound) -> Any:
        # ppo_continuous_action.py's reward normalisation: the critic's targets stay O(1).
        normaliser = gym.wrappers.NormalizeReward(
            SeenRewards(gym.make(spec.env), bound), gamma=args.gamma
        )
        normalisers.append(normaliser)
        return gym.wrappers.TransformReward(normaliser, lambda r: min(max(float(r), -10.0), 10.0))

    envs = gym.vector.SyncVectorEnv(
        [functools.partial(make_env, bound) for bound in bounds],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    spaces: Any = (envs.single_observation_space, envs.single_action_space)
    obs_dim, n_actions = int(np.prod(spaces[0].shape)), int(spaces[1].n)

    def layer_init(layer: Any, std: float = float(np.sqrt(2)), bias_const: float = 0.0) -> Any:
        torch.nn.init.orthogonal_(layer.weight, std)
        torch.nn.init.constant_(layer.bias, bias_const)
        return layer

    class Agent(nn.Module):  # type: ignore[misc,unused-ignore]
        def __init__(self) -> None:
            super().__init__()
            self.critic = nn.Sequential(
                layer_init(nn.Linear(obs_dim, 64)),
                nn.Tanh(),
                layer_init(nn.Linear(64, 64)),
                nn.Tanh(),
                layer_init(nn.Linear(64, 1), std=1.0),
            )
            self.actor = nn.Sequential(
                layer_init(nn.Linear(obs_dim, 64)),
                nn.Tanh(),
                layer_init(nn.Linear(64, 64)),
                nn.Tanh(),
                layer_init(nn.Linear(64, n_actions), std=0.01),
            )

        def get_value(self, x: Any) -> Any:
            return self.critic(x)

        def get_action_and_value(self, x: Any, action: Any = None) -> tuple[Any, ...]:
            probs: Any = Categorical(logits=self.actor(x))
            if action is None:
                action = probs.sample()
            return action, probs.log_prob(action), probs.entropy(), self.critic(x)

    telemetry = TelemetryWriter(path, truncate=True)
    change = CriticChange()

    def bound_now() -> tuple[float, float] | None:
        """The raw rewards so far in each normaliser's current units (clipped at 10 and
        multiplied by the spec's scale, as the rewards are), over the environments."""
        ranges = []
        for bound, norm in zip(bounds, normalisers, strict=True):
            scale = float(np.sqrt(norm.return_rms.var + norm.epsilon))
            found = bound.range_at(scale, 10.0)
            if found is not None:
                ranges.append(found)
        if not ranges:
            return None
        # spec.scale > 0 multiplies the normalised, clipped rewards: the range with them
        return min(r[0] for r in ranges) * spec.scale, max(r[1] for r in ranges) * spec.scale

    capture: list[dict[str, float]] = []
    agent = Agent().to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    obs = torch.zeros((args.num_steps, args.num_envs, obs_dim)).to(device)
    actions = torch.zeros((args.num_steps, args.num_envs)).to(device)
    logprobs = torch.zeros((args.num_steps, args.num_envs)).to(device)
    rewards = torch.zeros((args.num_steps, args.num_envs)).to(device)
    dones = torch.zeros((args.num_steps, args.num_envs)).to(device)
    values = torch.zeros((args.num_steps, args.num_envs)).to(device)

    global_step = 0
    # gymnasium 1.2 (which ray[rllib] 2.60 pins) leaves these types unsolved: declared here.
    next_obs_np: Any
    reward: Any
    terminations: Any
    truncations: Any
    next_obs_np, _ = envs.reset(seed=args.seed)
    next_obs = torch.Tensor(next_obs_np).to(device)
    next_done = torch.zeros(args.num_envs).to(device)

    for iteration in range(1, args.num_iterations + 1):
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1.0) / args.num_iterations
            optimizer.param_groups[0]["lr"] = frac * args.learning_rate

        for step in range(0, args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done

            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob

            next_obs_np, reward, terminations, truncations, _infos = envs.step(action.cpu().numpy())
            next_done_np = np.logical_or(terminations, truncations)
            rewards[step] = torch.tensor(reward * spec.scale).to(device).view(-1)
            next_obs = torch.Tensor(next_obs_np).to(device)
            next_done = torch.Tensor(next_done_np).to(device)

        # bootstrap value if not done
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards).to(device)
            deltas = torch.zeros_like(rewards).to(device)
            lastgaelam: Any = 0
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
        b_obs = obs.reshape((-1, obs_dim))
        b_logprobs = logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        b_values = values.reshape(-1)
        metrics = compute_value_metrics(b_values, b_returns, deltas, bound=bound_now())
        metrics.critic_change = change.measure(agent.critic.parameters())
        telemetry.log(metrics, step=global_step)
        capture.append(esper_extras(values.numpy(), returns.numpy(), deltas.numpy()))

        if spec.fault == "value_head_random" and iteration == spec.at:
            rng = torch.Generator().manual_seed(spec.seed)
            hidden = [agent.critic[0], agent.critic[2]]
            latent_of = functools.partial(agent.critic[:-1], b_obs)
            randomise_critic(hidden, agent.critic[-1], latent_of, b_returns, rng)

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
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

    envs.close()
    telemetry.close()
    return capture


# --- TorchRL and RLlib -----------------------------------------------------------------------

FRAMES: Final = 1000
"""Transitions a TorchRL or RLlib update collects, and one logged line describes."""


TORCHRL_FAULTS: Final = (
    "none",
    "vf_coef_0",
    "unnormalised_returns",
    "lr_blowup",
    "critic_frozen",
    "value_head_random",
)
"""The faults the TorchRL-shaped loop can take (mid-run ones by ``_inject_torchrl``)."""


def train_torchrl(spec: Spec, path: Path) -> list[dict[str, float]]:
    """PPO in the shape of TorchRL's PPO tutorial (a Collector, GAE, ClipPPOLoss, Adam 3e-4
    for actor and critic, 10 epochs of minibatches of 64), two hidden layers of 64 tanh
    units each for actor and critic, logged by value-diag's ``ValueDiagnostics`` after each
    batch's first GAE pass. ``vecnormalize`` puts TorchRL's ``VecNormV2`` on the observations
    and the rewards (each standardised by its running mean and spread)."""
    import torch
    from tensordict.nn import NormalParamExtractor, TensorDictModule
    from torch import nn
    from torchrl.collectors import Collector
    from torchrl.data.replay_buffers import LazyTensorStorage, ReplayBuffer
    from torchrl.data.replay_buffers.samplers import SamplerWithoutReplacement
    from torchrl.envs import DoubleToFloat, GymEnv, StepCounter, TransformedEnv, VecNormV2
    from torchrl.modules import OneHotCategorical, ProbabilisticActor, TanhNormal, ValueOperator
    from torchrl.objectives import ClipPPOLoss
    from torchrl.objectives.value import GAE

    from value_diag.integrations.torchrl import ValueDiagnostics

    if spec.scale != 1.0 or spec.time_limit is not None:
        raise ValueError(f"{spec.name}: the TorchRL runs keep the environment as it is")
    if spec.fault not in TORCHRL_FAULTS:
        raise ValueError(f"{spec.name}: no such fault for TorchRL")
    torch.set_num_threads(1)
    torch.manual_seed(spec.seed)
    env = TransformedEnv(GymEnv(spec.env), DoubleToFloat())
    if spec.vecnormalize:
        env.append_transform(VecNormV2(in_keys=["observation", "reward"]))
    env.append_transform(StepCounter())
    env.set_seed(spec.seed)
    size = env.observation_spec["observation"].shape[-1]

    def mlp(out: int) -> Any:
        return nn.Sequential(
            nn.Linear(size, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, out)
        )

    discrete = spec.env in ("CartPole-v1", "Acrobot-v1")
    if discrete:
        logits = TensorDictModule(
            mlp(int(env.action_spec.space.n)), in_keys=["observation"], out_keys=["logits"]
        )
        actor = ProbabilisticActor(
            logits,
            spec=env.action_spec,
            in_keys=["logits"],
            distribution_class=OneHotCategorical,
            return_log_prob=True,
        )
    else:
        params = nn.Sequential(mlp(2 * env.action_spec.shape[-1]), NormalParamExtractor())
        normal = TensorDictModule(params, in_keys=["observation"], out_keys=["loc", "scale"])
        space = env.action_spec.space
        actor = ProbabilisticActor(
            normal,
            spec=env.action_spec,
            in_keys=["loc", "scale"],
            distribution_class=TanhNormal,
            distribution_kwargs={"low": space.low, "high": space.high},
            return_log_prob=True,
        )
    critic = ValueOperator(mlp(1), in_keys=["observation"])
    collector = Collector(env, actor, frames_per_batch=FRAMES, total_frames=FRAMES * spec.updates)
    gae = GAE(gamma=0.99, lmbda=0.95, value_network=critic, average_gae=True)
    loss_module = ClipPPOLoss(
        actor_network=actor,
        critic_network=critic,
        entropy_coeff=0.01 if discrete else 0.0,
        critic_coeff=0.0 if spec.fault == "vf_coef_0" else 1.0,
    )
    optim = torch.optim.Adam(loss_module.parameters(), 3e-4)
    buffer = ReplayBuffer(storage=LazyTensorStorage(FRAMES), sampler=SamplerWithoutReplacement())
    with ValueDiagnostics(path, gae, min_samples=FRAMES, truncate=True) as diagnostics:
        for update, data in enumerate(collector, start=1):
            for epoch in range(10):
                gae(data)
                if epoch == 0:
                    diagnostics.log(data)
                    if update == spec.at:  # after the line, before training on it
                        _inject_torchrl(spec, optim, loss_module, critic, data)
                buffer.extend(data.reshape(-1))
                for _ in range(FRAMES // 64):
                    loss = loss_module(buffer.sample(64))
                    # every term TorchRL gives (with critic_coeff 0 it gives no critic's)
                    total = sum(v for k, v in loss.items() if k.startswith("loss_"))
                    total.backward()
                    nn.utils.clip_grad_norm_(loss_module.parameters(), 1.0)
                    optim.step()
                    optim.zero_grad()

    collector.shutdown()
    return []


def _inject_torchrl(spec: Spec, optim: Any, loss_module: Any, critic: Any, data: Any) -> None:
    """A mid-run fault in the TorchRL-shaped loop, after update ``at``'s line and before
    training on its batch: the onset is the next update. The loss keeps parameters of its
    own that share the critic's storage: frozen there, drawn again in the critic's."""
    import torch

    if spec.fault == "lr_blowup":
        for group in optim.param_groups:
            group["lr"] *= LR_BLOWUP
    elif spec.fault == "critic_frozen":
        for name, p in loss_module.named_parameters():
            if name.startswith("critic_network_params"):
                p.requires_grad_(False)
    elif spec.fault == "value_head_random":
        net = critic.module
        hidden = [layer for layer in net[:-1] if hasattr(layer, "weight")]
        obs = data["observation"].reshape(-1, data["observation"].shape[-1])
        rng = torch.Generator().manual_seed(spec.seed)
        randomise_critic(hidden, net[-1], lambda: net[:-1](obs), data["value_target"], rng)


RLLIB_FAULTS: Final = (
    "none",
    "vf_coef_0",
    "vf_clip",
    "lr_blowup",
    "critic_frozen",
    "value_head_random",
)
"""The faults RLlib's PPO can take (mid-run ones by ``_RLlibFault``)."""


def train_rllib(spec: Spec, path: Path) -> list[dict[str, float]]:
    """RLlib's PPO (its new API stack, its default RLModule: two hidden layers of 256 units,
    the critic's apart from the actor's), sampling in the process, 6 epochs of minibatches of
    128 over each update's transitions, logged by value-diag's ``ValueDiagnostics``. The
    specification's ``hyper`` gives PPOConfig.training's settings beyond that (``lr``,
    ``vf_clip_param``); ``vf_coef_0`` sets ``vf_loss_coeff`` to 0; the mid-run faults go in
    through ``_RLlibFault``."""
    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    from value_diag.integrations.rllib import ValueDiagnostics

    if spec.scale != 1.0 or spec.vecnormalize or spec.time_limit is not None:
        raise ValueError(f"{spec.name}: the RLlib runs keep the environment as it is")
    if spec.fault not in RLLIB_FAULTS or bool(spec.at) != (spec.fault in _RLLIB_MID_RUN):
        raise ValueError(f"{spec.name}: no such fault for RLlib")
    training: dict[str, Any] = {
        "train_batch_size_per_learner": FRAMES,
        "minibatch_size": 128,
        "num_epochs": 6,
        **dict(spec.hyper),
    }
    if spec.fault == "vf_coef_0":
        training["vf_loss_coeff"] = 0.0
    path.unlink(missing_ok=True)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    ppo: Any = PPOConfig  # RLlib is not typed
    try:
        config = (
            ppo()
            .environment(spec.env)
            .env_runners(num_env_runners=0)
            .learners(num_learners=0)
            .training(**training)
            .debugging(seed=spec.seed)
            .callbacks(on_algorithm_init=ValueDiagnostics(path))
        )
        algo: Any = config.build_algo()
        try:
            if spec.fault in _RLLIB_MID_RUN:
                _RLlibFault.install(spec, algo.learner_group._learner)
            for _ in range(spec.updates):
                algo.train()
        finally:
            algo.stop()
    finally:
        ray.shutdown()
    return []


_RLLIB_MID_RUN: Final = ("lr_blowup", "critic_frozen", "value_head_random")


class _RLlibFault:
    """Wraps the local learner's connector pipeline: once the pipeline has made update
    ``at``'s batch (value-diag's piece in it has written that update's line), the fault goes
    in before the learner trains on it, so the onset is the next update, as for SB3.

    ``lr_blowup`` sets the optimizer's learning rate to LR_BLOWUP times the one it had at
    the onset, before every update from then on (RLlib sets it back from its schedule after
    each). ``critic_frozen`` takes the
    critic's own parameters (``critic_parameters``: the value head and the critic's encoder)
    out of the optimizer, which then never steps them: a critic left out of the optimizer.
    ``value_head_random`` draws the critic's encoder and head again (``randomise_critic``)
    on the batch's observations and value targets.
    """

    def __init__(self, spec: Spec, learner: Any, pipeline: Any) -> None:
        self.spec, self.learner, self.pipeline = spec, learner, pipeline
        self.updates = 0
        self.blown: dict[int, float] = {}
        """The blown-up learning rate of each parameter group, by its id."""

    @classmethod
    def install(cls, spec: Spec, learner: Any) -> None:
        learner._learner_connector = cls(spec, learner, learner._learner_connector)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipeline, name)

    def __call__(self, **kwargs: Any) -> Any:
        batch = self.pipeline(**kwargs)
        self.updates += 1
        if self.updates >= self.spec.at:
            self._inject(batch["default_policy"], first=self.updates == self.spec.at)
        return batch

    def _inject(self, columns: Any, first: bool) -> None:
        import torch

        from value_diag.integrations.rllib import critic_parameters

        module = self.learner.module["default_policy"]
        optimizers = self.learner._named_optimizers.values()
        if self.spec.fault == "lr_blowup":
            for optim in optimizers:
                for group in optim.param_groups:
                    lr = self.blown.setdefault(id(group), group["lr"] * LR_BLOWUP)
                    group["lr"] = lr
        elif first and self.spec.fault == "critic_frozen":
            own = critic_parameters(module)
            if own is None:
                raise ValueError(f"{self.spec.name}: the module's critic has no weights apart")
            frozen = {id(p) for p in own}
            for optim in optimizers:
                for group in optim.param_groups:
                    group["params"] = [p for p in group["params"] if id(p) not in frozen]
        elif first:  # value_head_random
            encoder = module.encoder.critic_encoder
            hidden = [m for m in encoder.modules() if isinstance(m, torch.nn.Linear)]
            (head,) = [m for m in module.vf.modules() if isinstance(m, torch.nn.Linear)]
            obs = columns["obs"]
            rng = torch.Generator().manual_seed(self.spec.seed)
            randomise_critic(
                hidden,
                head,
                lambda: encoder({"obs": obs})["encoder_out"],
                columns["value_targets"],
                rng,
            )


# --- esper-lite's event format ----------------------------------------------------------------


def esper_extras(values: Any, returns: Any, td_errors: Any) -> dict[str, float]:
    """What esper-lite computes beyond value-diag's line, from the rollout's arrays.

    Its Bellman error is the mean |TD error| (``leyline/value_metrics.py``); its explained
    variance and value_nrmse use Bessel's variances with a return-variance floor of 1.0
    (``compute_floored_explained_variance``); return_mean/std are of the returns.
    """
    import numpy as np

    v, g, d = (np.asarray(x, dtype=np.float64).ravel() for x in (values, returns, td_errors))
    floor = 1.0
    residual_var = float(np.var(g - v, ddof=1)) if len(g) > 1 else math.nan
    var_returns = float(np.var(g, ddof=1)) if len(g) > 1 else math.nan
    return {
        "n": float(len(d)),
        "abs_td_sum": float(np.abs(d).sum()),
        "explained_variance": 1.0 - residual_var / max(var_returns, floor),
        "value_nrmse": math.sqrt(residual_var) / (math.sqrt(var_returns) + math.sqrt(floor)),
        "ev_return_variance": var_returns,
        "return_std": float(np.std(g, ddof=1)) if len(g) > 1 else math.nan,
    }


ESPER_START: Final = datetime(2026, 12, 1, tzinfo=UTC)


def write_esper(flat: Path, extras: list[dict[str, float]], out: Path, seed: int) -> None:
    """Re-encodes a flat run as esper-lite events: TRAINING_STARTED, then per update the
    PPO_UPDATE_COMPLETED with the same nine metrics, except the Bellman error, E|delta|."""
    from value_diag.producer.simulate import PPO_TEMPLATE, EventLog
    from value_diag.schema import VALUE_FIELDS

    lines = [json.loads(s) for s in flat.read_text().splitlines()]
    updates = [x for x in lines if "bellman_error" in x]
    if len(updates) != len(extras):
        raise RuntimeError(f"{flat.name}: {len(updates)} updates but {len(extras)} rollouts")
    log = EventLog(random.Random(seed), lambda s: ESPER_START + timedelta(seconds=s))
    events = [log.event("TRAINING_STARTED", None, {"seed": seed, "n_envs": N_ENVS})]
    for epoch, (line, extra) in enumerate(zip(updates, extras, strict=True), start=1):
        log.elapsed += 40.0
        data = dict(PPO_TEMPLATE)
        data.update({name: line[name] for name in VALUE_FIELDS})
        data["bellman_error"] = extra["abs_td_sum"] / extra["n"]
        data.update(
            explained_variance=extra["explained_variance"],
            value_nrmse=extra["value_nrmse"],
            ev_low_return_variance=extra["ev_return_variance"] < 1.0,
            ev_return_variance=extra["ev_return_variance"],
            return_std=extra["return_std"],
            value_mean=line["value_mean"],
            value_std=line["value_std"],
            value_min=line["value_min"],
            value_max=line["value_max"],
            batch=epoch,
        )
        if "return_mean" in line:
            data["return_mean"] = line["return_mean"]
        events.append(log.event("PPO_UPDATE_COMPLETED", epoch, data))
    out.write_text("".join(json.dumps(e) + "\n" for e in events))


# --- the corpus -------------------------------------------------------------------------------


def label(spec: Spec, file_format: str = "flat") -> dict[str, Any]:
    """The run's label: the truth about its critic, by the design of its fault."""
    return {
        "algo": spec.algo,
        "env": spec.env,
        "seed": spec.seed,
        "scale": spec.scale,
        "vecnormalize": spec.vecnormalize,
        "fault": spec.fault,
        "kind": spec.kind,
        "onset": spec.onset,
        "time_limit": spec.time_limit,
        "format": file_format,
    }


def run(job: tuple[Spec, str]) -> tuple[str, float]:
    """Trains one run into ``runs/`` (and its esper copy); returns its name and seconds."""
    spec, out = job
    runs = Path(out) / "runs"
    started = time.perf_counter()
    path = runs / f"{spec.name}.jsonl"
    trainers: dict[str, Callable[[Spec, Path], list[dict[str, float]]]] = {
        "cleanrl": train_cleanrl,
        "torchrl": train_torchrl,
        "rllib": train_rllib,
    }
    train = trainers.get(spec.algo, train_sb3)
    extras = train(spec, path)
    if spec.esper:
        write_esper(path, extras, runs / f"esper-{spec.name}.jsonl", spec.seed)
    return spec.name, time.perf_counter() - started


def labels(all_specs: Sequence[Spec]) -> dict[str, dict[str, Any]]:
    """labels.json: every run file of the corpus, by file name."""
    out: dict[str, dict[str, Any]] = {}
    for spec in all_specs:
        out[f"{spec.name}.jsonl"] = label(spec)
        if spec.esper:
            out[f"esper-{spec.name}.jsonl"] = label(spec, "esper")
    return dict(sorted(out.items()))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="runs trained at once (processes)")
    ap.add_argument("--only", nargs="*", default=None, help="names of the runs to train")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--updates", type=int, default=0, help="override (for a quick try)")
    ap.add_argument("--probes", action="store_true", help="the probes instead (use --out)")
    args = ap.parse_args(argv)
    if args.probes and args.out == HERE:
        raise SystemExit("--probes are not part of the corpus: give them their own --out")
    all_specs = probes() if args.probes else specs()
    names = [s.name for s in all_specs]
    if len(set(names)) != len(names):
        raise SystemExit(f"two runs share a name: {sorted(n for n in names if names.count(n) > 1)}")
    chosen = [s for s in all_specs if args.only is None or s.name in args.only]
    if args.only is not None and len(chosen) != len(args.only):
        unknown = sorted(set(args.only) - set(names))
        raise SystemExit(f"no such runs: {unknown}")
    if args.updates:
        chosen = [_with_updates(s, args.updates) for s in chosen]
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = [(s, str(args.out)) for s in chosen]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(max(1, args.jobs), maxtasksperchild=1) as pool:
        for name, seconds in pool.imap_unordered(run, jobs):
            print(f"{name:55s} {seconds:6.1f} s", flush=True)
    if not args.updates:  # the labels come from the specs: the same for any --only
        text = json.dumps(labels(all_specs), indent=1) + "\n"
        (args.out / "labels.json").write_text(text)
    print(f"{len(chosen)} runs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def _with_updates(spec: Spec, updates: int) -> Spec:
    fields = asdict(spec)
    fields["updates"] = updates
    fields["hyper"] = spec.hyper
    return Spec(**fields)


if __name__ == "__main__":
    sys.exit(main())
