"""Stable-Baselines3: a callback that logs each rollout's value metrics for value-diag.

Importing this module needs neither Stable-Baselines3 nor numpy; creating the callback
needs both (``pip install stable-baselines3``). value-diag itself never depends on them.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Final

from value_diag.producer.metrics import CriticChange, ValueBound, compute_value_metrics
from value_diag.producer.writer import TelemetryWriter

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from stable_baselines3.common.buffers import RolloutBuffer
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
else:
    try:
        from stable_baselines3.common.callbacks import BaseCallback
        from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
    except ImportError:

        class BaseCallback:
            """Stands in for SB3's base class, so this module imports without SB3."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                raise ImportError(
                    "ValueDiagnosticsCallback needs stable-baselines3: "
                    "pip install stable-baselines3"
                )


DEFAULT_MIN_SAMPLES: Final = 2048
"""Transitions gathered before a line is logged: enough for stable percentiles and skew."""
WRITER: Final = "stable-baselines3"
"""What the callback's run header names as the writer."""


def rollout_td_errors(
    buffer: RolloutBuffer, last_values: Any, dones: Any
) -> npt.NDArray[np.floating[Any]]:
    """Every TD error of an SB3 rollout, as ``compute_returns_and_advantage`` computes them.

    delta_t = r_t + gamma * V(s_t+1) * (1 - episode_starts_t+1) - V(s_t); for the last
    step V(s_t+1) is the bootstrap value of the observation after the rollout and
    episode_starts_t+1 the dones of the last ``env.step``. The same operations in the
    same order on the same dtypes, so the GAE recursion over these gives SB3's advantages
    bit for bit. ``buffer.rewards`` already holds gamma * V(terminal observation) at
    time-limit truncations: SB3 adds it while collecting.

    Args:
        buffer: the rollout buffer, full and not yet flattened by ``get()``.
        last_values: V of the next observations: ``locals["values"]`` at the rollout's end.
        dones: ``locals["dones"]`` at the rollout's end, one per environment.

    Returns:
        A ``(n_steps, n_envs)`` array.
    """
    import numpy as np

    n_steps, n_envs = buffer.buffer_size, buffer.n_envs
    if buffer.values.shape != (n_steps, n_envs):
        raise ValueError(
            f"the rollout buffer's values have the shape {buffer.values.shape}, not "
            f"({n_steps}, {n_envs}): read it before train() flattens it (_on_rollout_end)"
        )
    if hasattr(last_values, "detach"):  # a tensor, converted as SB3 converts it
        last_values = last_values.detach().clone().cpu().numpy()
    last_values = np.asarray(last_values).flatten()
    gamma = buffer.gamma
    body = (
        buffer.rewards[:-1]
        + gamma * buffer.values[1:] * (1.0 - buffer.episode_starts[1:])
        - buffer.values[:-1]
    )
    next_non_terminal = 1.0 - np.asarray(dones).astype(np.float32)
    last = buffer.rewards[-1] + gamma * last_values * next_non_terminal - buffer.values[-1]
    return np.concatenate([body, last[np.newaxis]])


def critic_parameters(policy: Any) -> list[Any] | None:
    """The weights only the value function uses in an ``ActorCriticPolicy``: its head
    (``value_net``) and its own layers (``mlp_extractor.value_net``); None for a policy
    without them."""
    head = getattr(policy, "value_net", None)
    own = getattr(getattr(policy, "mlp_extractor", None), "value_net", None)
    if head is None or not hasattr(head, "parameters"):
        return None
    layers = [] if own is None or not hasattr(own, "parameters") else list(own.parameters())
    return [*layers, *head.parameters()]


def _is_compiled(module: Any) -> bool:
    """Whether torch.compile wrapped the module, one of its parts, or its forward."""
    parts = module.modules() if hasattr(module, "modules") else [module]
    for part in parts:
        if hasattr(part, "_orig_mod"):  # torch.compile(module) gives an OptimizedModule
            return True
        if hasattr(getattr(part, "forward", None), "_torchdynamo_orig_callable"):
            return True  # module.forward = torch.compile(module.forward)
    return False


class ValueDiagnosticsCallback(BaseCallback):  # type: ignore[misc,unused-ignore]
    """Appends the value metrics of PPO's or A2C's rollouts to a file value-diag reads.

    ``model.learn(total_timesteps, callback=ValueDiagnosticsCallback("run.jsonl"))``.

    At each rollout's end (after SB3 computed its returns, before ``train()``) the values,
    returns and TD errors of every step of every environment are gathered; once at least
    ``min_samples`` transitions are there, one line is logged with ``step`` =
    ``num_timesteps`` and ``samples`` = how many transitions it describes. A2C's short
    rollouts (5 steps by default) are thus judged together, not on 5 samples each. What
    is left under ``min_samples`` when training ends is logged then as a last line (its
    ``samples`` says how few), so a short run never leaves a file without metrics.

    The file is opened when training starts, appended to (``truncate=True`` empties it
    first) and closed when training ends. The first ``learn()`` starts a run: its first
    line is a run header naming ``stable-baselines3`` as the writer, so a script started
    again on the same file begins a new run there. A second ``learn()`` with the same
    callback continues that run (no new header). When torch.compile wrapped the policy, a part of
    it or its ``forward``, the compile status is logged at the start with
    ``compile_backend`` and ``compile_mode``: torch.compile's defaults unless given, as
    torch does not say which were used. An uncompiled policy logs no compile status: the
    panel shows it as not reported rather than as a slow eager run. Each line also carries
    the range the run's rewards so far and the model's gamma allow any value in
    (``ValueBound``: the rewards of each step as the agent learns from them; under a
    VecNormalize that normalises rewards, the raw rewards so far in its current units,
    ``get_original_reward()`` over the square root of ``ret_rms.var + epsilon``, clipped at
    ``clip_reward``, as it normalises them now), and, from the
    second on, how far the critic's own weights moved since the line before
    (``CriticChange``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        min_samples: int = DEFAULT_MIN_SAMPLES,
        truncate: bool = False,
        compile_backend: str | None = "inductor",
        compile_mode: str | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if min_samples < 1:
            raise ValueError(f"min_samples must be at least 1, not {min_samples}")
        self.path = os.fspath(path)
        self.min_samples = min_samples
        self.truncate = truncate
        self.compile_backend = compile_backend
        self.compile_mode = compile_mode
        self.telemetry: TelemetryWriter | None = None
        self.last_rollout: tuple[Any, Any, Any] | None = None
        """The latest rollout's values, returns and TD errors, each ``(n_steps, n_envs)``."""
        self._pending: list[tuple[Any, Any, Any]] = []
        self._run_started = False
        self._bound: ValueBound | None = None
        self._normaliser: Any = None
        """The model's VecNormalize if it normalises rewards (looked up as training starts)."""
        self._change = CriticChange()

    def _on_training_start(self) -> None:
        if not isinstance(self.model, OnPolicyAlgorithm):
            raise TypeError(
                "ValueDiagnosticsCallback reads an on-policy rollout buffer (PPO, A2C); "
                f"{type(self.model).__name__} has none"
            )
        self.telemetry = TelemetryWriter(
            self.path, truncate=self.truncate, header=not self._run_started, writer=WRITER
        )
        self.truncate = False  # a second learn() continues the same file
        if self._bound is None:  # ... and the same run, whose rewards bound its values
            self._bound = ValueBound(self.model.gamma)
        self._run_started = True  # ... and the same run
        found = self.model.get_vec_normalize_env()
        self._normaliser = found if found is not None and found.norm_reward else None
        if _is_compiled(self.model.policy):
            self.telemetry.set_compile(True, self.compile_backend, self.compile_mode)

    def _on_step(self) -> bool:
        if self._bound is not None:
            # the rewards of the step, read before SB3 adds gamma * V(terminal observation)
            # at a time limit: the value bound's own. Under a normalising VecNormalize, the
            # raw ones: the bound is put in the normaliser's current units when logged.
            normaliser = self._normaliser
            raw = None if normaliser is None else normaliser.get_original_reward()
            self._bound.see(self.locals["rewards"] if raw is None else raw)
        return True

    def _bound_now(self) -> tuple[float, float] | None:
        """The value bound in the units the critic learns in now."""
        if self._bound is None:
            return None
        normaliser = self._normaliser
        if normaliser is None:
            return self._bound.range
        scale = math.sqrt(float(normaliser.ret_rms.var) + float(normaliser.epsilon))
        return self._bound.range_at(scale, float(normaliser.clip_reward))

    def _on_rollout_end(self) -> None:
        assert isinstance(self.model, OnPolicyAlgorithm)  # checked at the start
        buffer = self.model.rollout_buffer
        deltas = rollout_td_errors(buffer, self.locals["values"], self.locals["dones"])
        self.last_rollout = (buffer.values.copy(), buffer.returns.copy(), deltas)
        self._pending.append(self.last_rollout)
        if sum(v.size for v, _, _ in self._pending) >= self.min_samples:
            self._log_pending()

    def _log_pending(self) -> None:
        """Logs the pending rollouts as one line, if there are any and the file is open."""
        import numpy as np

        if not self._pending or self.telemetry is None:
            return
        samples = sum(v.size for v, _, _ in self._pending)
        values, returns, td_errors = (
            np.concatenate([p[i].ravel() for p in self._pending]) for i in range(3)
        )
        self._pending = []
        bound = self._bound_now()
        critic = critic_parameters(self.model.policy)
        change = None if critic is None else self._change.measure(critic)
        metrics = compute_value_metrics(
            values, returns, td_errors, bound=bound, critic_change=change
        )
        self.telemetry.log(metrics, step=self.num_timesteps, samples=samples)

    def _on_training_end(self) -> None:
        if self.telemetry is not None:
            try:
                self._log_pending()  # fewer than min_samples: still this run's last numbers
            finally:
                self.telemetry.close()
                self.telemetry = None
