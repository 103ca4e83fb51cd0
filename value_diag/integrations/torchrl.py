"""TorchRL: the value metrics of each collected batch, read after TorchRL's GAE module ran.

Importing this module needs neither torch nor TorchRL; using it needs both
(``pip install 'value-diag[torchrl]'``). value-diag itself never depends on them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from value_diag.producer.metrics import CriticChange, ValueBound, compute_value_metrics
from value_diag.producer.writer import TelemetryWriter

DEFAULT_MIN_SAMPLES: Final = 2048
"""Transitions gathered before a line is logged: enough for stable percentiles and skew."""
WRITER: Final = "torchrl"
"""What the run header names as the writer."""
EXTRA: Final = "pip install 'value-diag[torchrl]'"
"""How to install what this module needs, as its ImportError says."""
SHIFTED_VALID: Final = "shifted_valid"
"""The mask GAE(shifted=True) writes: steps past it are padding, their outputs zeroed."""


def _require(what: str) -> None:
    """Imports torch and TorchRL, or says how to install them."""
    try:
        import torch  # noqa: F401
        import torchrl.objectives.value  # noqa: F401
    except ImportError:
        raise ImportError(f"{what} needs torchrl: {EXTRA}") from None


def _gae(advantage_module: Any) -> Any:
    """The module, if it is TorchRL's GAE (or a subclass of it)."""
    from torchrl.objectives.value import GAE

    if not isinstance(advantage_module, GAE):
        raise TypeError(
            "value-diag rebuilds the TD errors of TorchRL's GAE; "
            f"{type(advantage_module).__name__} is not a torchrl.objectives.value.GAE"
        )
    return advantage_module


def _entry(tensordict: Any, key: Any) -> Any:
    """An entry the GAE module reads or writes; missing, a ValueError saying what to do."""
    found = tensordict.get(key, None)
    if found is None:
        raise ValueError(
            f"the tensordict has no {key!r}: pass it after the advantage module ran on it "
            f"(advantage_module(tensordict)), with the keys that module was set to use"
        )
    return found


def _last_valid(valid: Any, time_dim: int) -> Any:
    """The last valid step of each row of a shifted_valid mask, as GAE finds it."""
    import torch

    ones = valid.new_ones([*valid.shape[:time_dim], 1, *valid.shape[time_dim + 1 :]])
    following = torch.cat([valid.narrow(time_dim, 1, valid.shape[time_dim] - 1), ones], time_dim)
    return valid & ~following


def _expand(mask: Any, like: Any) -> Any:
    while mask.ndim < like.ndim:
        mask = mask.unsqueeze(-1)
    return mask.expand_as(like)


def gae_td_errors(tensordict: Any, advantage_module: Any) -> Any:
    """Every TD error of a batch, as TorchRL's GAE computed them in ``advantage_module(td)``.

    delta_t = r_t + gamma * V(s'_t) * (1 - terminated_t) - V(s_t), with V(s_t) the
    ``state_value`` and V(s'_t) the ``("next", "state_value")`` GAE wrote (or read), and
    r_t and terminated_t under ``"next"``: the same operations in the same order on the same
    dtypes as ``torchrl.objectives.value.functional`` (``generalized_advantage_estimate``
    and ``_fast_vec_gae``), so GAE's own recursion over these gives its advantages bit for
    bit. A truncation (``done`` and not ``terminated``) bootstraps from V of the real next
    observation; ``done`` only cuts the recursion and is not needed here. The rest of
    ``GAE.forward`` is followed too: ``gamma ** steps_to_next_obs`` where that entry is
    there; with ``auto_reset_env``, gamma * V(s_t) added to the reward at truncations and
    ``done`` taken as ``terminated``; with ``shifted=True``, the last valid step of a row
    bootstraps. The keys are the module's (``set_keys``).

    Args:
        tensordict: the batch, after ``advantage_module(tensordict)``.
        advantage_module: the ``GAE`` that ran on it.

    Returns:
        A tensor shaped like the state values, on their device.

    Raises:
        ImportError: torch or TorchRL is not installed.
        TypeError: ``advantage_module`` is not TorchRL's GAE.
        ValueError: an entry GAE reads or writes is missing, or shapes differ.
    """
    _require("gae_td_errors")
    gae = _gae(advantage_module)
    keys = gae.tensor_keys
    value = _entry(tensordict, keys.value)
    next_value = _entry(tensordict, ("next", keys.value))
    reward = _entry(tensordict, ("next", keys.reward))
    done = _entry(tensordict, ("next", keys.done))
    terminated = tensordict.get(("next", keys.terminated), done)
    gamma = gae.gamma.to(reward.device)
    steps_to_next_obs = tensordict.get(keys.steps_to_next_obs, None)
    if steps_to_next_obs is not None:
        gamma = gamma ** steps_to_next_obs.view_as(reward)
    valid = tensordict.get(SHIFTED_VALID, None)
    if valid is not None:  # GAE._prepare_shifted_tensordict: the last valid step bootstraps
        last = _expand(_last_valid(valid, gae._get_time_dim(None, tensordict)), done)
        done, terminated = done.masked_fill(last, True), terminated.masked_fill(last, False)
    prepare = getattr(gae, "_prepare_signals", None)  # identity for GAE itself
    if prepare is not None:
        reward, done, terminated = prepare(reward, done, terminated, value)
    if gae.auto_reset_env:
        truncated = _entry(tensordict, ("next", "truncated"))
        broadcast = getattr(gae, "_broadcast_optional", None)
        if broadcast is not None:
            truncated = broadcast(truncated, value)
        if truncated.any():
            reward = reward + gamma * value * truncated
        terminated = done
    if not value.shape == next_value.shape == reward.shape == terminated.shape:
        raise ValueError(
            f"state values {tuple(value.shape)}, next state values {tuple(next_value.shape)}, "
            f"rewards {tuple(reward.shape)} and terminated {tuple(terminated.shape)} must "
            f"have the same shape, as GAE needs"
        )
    not_terminated = (~terminated).int()
    return reward + not_terminated * gamma * next_value - value


@dataclass(frozen=True, slots=True)
class GAEBatch:
    """One batch's numbers as value-diag uses them: flat, detached, on the CPU, in the
    same order, without the padding steps of ``GAE(shifted=True)``."""

    values: Any
    """V(s_t): the ``state_value`` GAE used."""
    returns: Any
    """The ``value_target`` GAE wrote: its advantage (before ``average_gae``) + V(s_t)."""
    td_errors: Any
    """``gae_td_errors``."""
    rewards: Any = None
    """The rewards as the batch holds them (before GAE's bootstrap at truncations): what
    ``ValueBound`` reads."""

    @property
    def samples(self) -> int:
        """How many transitions the batch holds."""
        return int(self.values.numel())


def gae_batch(tensordict: Any, advantage_module: Any) -> GAEBatch:
    """The values, returns and TD errors of a batch after ``advantage_module(tensordict)``.

    Raises:
        ImportError, TypeError, ValueError: as ``gae_td_errors``.
    """
    td_errors = gae_td_errors(tensordict, advantage_module)
    keys = advantage_module.tensor_keys
    values = _entry(tensordict, keys.value)
    returns = _entry(tensordict, keys.value_target)
    if returns.shape != values.shape:
        raise ValueError(
            f"value targets {tuple(returns.shape)} and state values {tuple(values.shape)} "
            f"must have the same shape"
        )
    rewards = _entry(tensordict, ("next", keys.reward))
    valid = tensordict.get(SHIFTED_VALID, None)
    flat = []
    for x in (values, returns, td_errors, rewards):
        x = x.detach()
        x = x[_expand(valid, x)] if valid is not None else x.reshape(-1)
        flat.append(x.cpu())
    return GAEBatch(*flat)


class ValueDiagnostics:
    """Appends the value metrics of TorchRL batches to a file value-diag reads.

    Call ``log(tensordict)`` once per collected batch, right after the GAE module first
    ran on it (before the update changes the critic):

        with ValueDiagnostics("run.jsonl", advantage_module) as diagnostics:
            for tensordict_data in collector:
                advantage_module(tensordict_data)
                diagnostics.log(tensordict_data)
                ...  # the PPO epochs

    Batches are gathered until at least ``min_samples`` transitions are there; then one
    line is logged, with ``step`` (the ``step`` given to that call, else the frames passed
    to ``log`` so far) and ``samples``, the transitions it describes. What is left under
    ``min_samples`` is logged by ``close()`` as a last line, so a short run never leaves a
    file without metrics.

    The file is opened here, appended to (``truncate=True`` empties it first), and starts
    with a run header naming ``torchrl`` as the writer; ``close()`` (or the end of the
    ``with`` block) closes it. Each line carries the range the rewards so far and the GAE
    module's gamma allow any value in (``ValueBound``), when gamma is one number, and, from
    the second on, how far the GAE module's value network moved since the line before
    (``CriticChange``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        advantage_module: Any,
        *,
        min_samples: int = DEFAULT_MIN_SAMPLES,
        truncate: bool = False,
    ) -> None:
        _require("ValueDiagnostics")
        if min_samples < 1:
            raise ValueError(f"min_samples must be at least 1, not {min_samples}")
        self.advantage_module = _gae(advantage_module)
        self.path = os.fspath(path)
        self.min_samples = min_samples
        self.frames = 0
        """Frames passed to ``log`` so far (padding included): the default step."""
        self.last_batch: GAEBatch | None = None
        """The latest batch's values, returns and TD errors."""
        self._pending: list[GAEBatch] = []
        self._step = 0
        gamma = self.advantage_module.gamma
        self.bound = ValueBound(float(gamma)) if gamma.numel() == 1 else None
        """The value bound of the run's rewards (None: a gamma per environment)."""
        self._change = CriticChange()
        self.telemetry: TelemetryWriter | None = TelemetryWriter(
            self.path, truncate=truncate, writer=WRITER
        )

    def log(self, tensordict: Any, step: int | None = None) -> None:
        """Takes a batch after the GAE module ran on it; logs a line once enough are in.

        Raises:
            ValueError: the writer is closed, or the batch lacks what GAE reads or writes.
        """
        if self.telemetry is None:
            raise ValueError(f"ValueDiagnostics for {self.path} is closed")
        batch = gae_batch(tensordict, self.advantage_module)
        self.frames += int(tensordict.numel())
        self._step = self.frames if step is None else step
        self.last_batch = batch
        if self.bound is not None:
            self.bound.see(batch.rewards)
        self._pending.append(batch)
        if sum(b.samples for b in self._pending) >= self.min_samples:
            self._log_pending()

    def _log_pending(self) -> None:
        """Logs the pending batches as one line, if there are any and the file is open."""
        import torch

        if not self._pending or self.telemetry is None:
            return
        pending, self._pending = self._pending, []
        values, returns, td_errors = (
            torch.cat([getattr(b, name) for b in pending])
            for name in ("values", "returns", "td_errors")
        )
        bound = None if self.bound is None else self.bound.range
        critic = getattr(self.advantage_module, "value_network", None)
        change = None if critic is None else self._change.measure(critic.parameters())
        metrics = compute_value_metrics(
            values, returns, td_errors, bound=bound, critic_change=change
        )
        self.telemetry.log(metrics, step=self._step, samples=int(values.numel()))

    def close(self) -> None:
        """Logs what is pending, then closes the file; closing twice is fine."""
        if self.telemetry is not None:
            try:
                self._log_pending()
            finally:
                self.telemetry.close()
                self.telemetry = None

    def __enter__(self) -> ValueDiagnostics:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
