"""verl: the value metrics of each PPO step, read from the batch after ``compute_advantage``.

Where to call it: in verl's ``RayPPOTrainer.fit()`` (``verl/trainer/ppo/ray_trainer.py``),
right after ``batch = compute_advantage(batch, adv_estimator=..., gamma=..., lam=..., ...)``
and before ``self._update_critic(batch)`` changes the critic:

    diagnostics = ValueDiagnostics("run.jsonl", gamma=self.config.algorithm.gamma)
    ...
    batch = compute_advantage(batch, ...)
    diagnostics.log(batch, step=self.global_steps)

The trainer's driver holds the whole batch there, so one process writes one file. The
metrics are over response tokens only (``response_mask`` 1), as verl's own
``critic/values/*`` and ``critic/vf_explained_var`` are.

Importing this module needs neither torch nor verl; using it needs torch, which verl brings
(``pip install 'value-diag[verl]'``). value-diag itself never depends on them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from value_diag.producer.metrics import compute_value_metrics
from value_diag.producer.writer import TelemetryWriter

WRITER: Final = "verl"
"""What the run header names as the writer."""
EXTRA: Final = "pip install 'value-diag[verl]'"
"""How to install what this module needs, as its ImportError says."""
VALUES: Final = "values"
RETURNS: Final = "returns"
REWARDS: Final = "token_level_rewards"
MASK: Final = "response_mask"
"""The batch keys verl's ``compute_advantage`` reads and writes for GAE."""


def _require(what: str) -> None:
    """Imports torch, or says how to install it."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImportError(f"{what} needs torch (verl brings it): {EXTRA}") from None


def _entry(data: Any, key: str) -> Any:
    """A tensor of the batch (``DataProto.batch``, or a TensorDict or mapping itself);
    missing, a ValueError saying what to do."""
    batch = getattr(data, "batch", data)
    found = batch.get(key, None) if hasattr(batch, "get") else None
    if found is None:
        raise ValueError(
            f"the batch has no {key!r}: pass it after compute_advantage(batch, "
            f"adv_estimator='gae', ...) ran on it, in a run with a critic"
        )
    return found


def gae_td_errors(data: Any, gamma: Any) -> Any:
    """Every TD error of the response tokens, as verl's GAE computed them.

    delta_t = r_t + gamma * V_next(t) - V_t, with r the ``token_level_rewards``, V the
    ``values``, and V_next(t) the value of the next token whose ``response_mask`` is 1
    (0 past a response's last one): verl's ``compute_gae_advantage_return``
    (``verl/trainer/ppo/core_algos.py``, the same from 0.5 to 0.9.1) carries the next value
    and the running advantage across masked tokens, such as a tool's output inside a
    multi-turn response, so gamma is applied once across them. The same operations in the
    same order on the same dtypes, so verl's recursion over these gives its advantages bit
    for bit; its returns are those advantages (before ``masked_whiten``) plus the values.
    Where the mask is 0 the TD error is 0: verl uses none there.

    Args:
        data: verl's ``DataProto`` after ``compute_advantage``, or its ``batch``.
        gamma: the ``gamma`` given to ``compute_advantage`` (``config.algorithm.gamma``).

    Returns:
        A ``(batch, response_length)`` tensor like the values, on their device.

    Raises:
        ImportError: torch is not installed.
        ValueError: a tensor GAE reads is missing, or the shapes differ.
    """
    _require("gae_td_errors")
    import torch

    rewards, values, mask = (_entry(data, k) for k in (REWARDS, VALUES, MASK))
    if not (values.ndim == 2 and values.shape == rewards.shape == mask.shape):
        raise ValueError(
            f"values {tuple(values.shape)}, token_level_rewards {tuple(rewards.shape)} and "
            f"response_mask {tuple(mask.shape)} must be (batch, response_length) alike"
        )
    with torch.no_grad():
        # values * mask + (1 - mask) * following is of this dtype, as verl's is.
        dtype = torch.promote_types(values.dtype, mask.dtype)
        next_values = torch.zeros(values.shape, dtype=dtype, device=values.device)
        following: Any = 0
        for t in reversed(range(values.shape[-1])):
            next_values[:, t] = following
            # verl's own step: the value of the nearest response token to the right.
            following = values[:, t] * mask[:, t] + (1 - mask[:, t]) * following
        deltas = rewards + gamma * next_values - values
        return deltas.masked_fill(mask == 0, 0.0)


@dataclass(frozen=True, slots=True)
class ResponseTokens:
    """One batch's numbers as value-diag uses them: the response tokens only, flat,
    detached, on the CPU, row by row in token order."""

    values: Any
    """V_t: the critic's ``values`` GAE used."""
    returns: Any
    """verl's ``returns``: its advantage before whitening + V_t."""
    td_errors: Any
    """``gae_td_errors``."""

    @property
    def samples(self) -> int:
        """How many response tokens the batch holds."""
        return int(self.values.numel())


def response_tokens(data: Any, gamma: Any) -> ResponseTokens:
    """The values, returns and TD errors of the response tokens, after ``compute_advantage``.

    Raises:
        ImportError, ValueError: as ``gae_td_errors``; a ValueError also when the returns
            are shaped unlike the values, or no token is a response token.
    """
    td_errors = gae_td_errors(data, gamma)
    values, returns, mask = (_entry(data, k) for k in (VALUES, RETURNS, MASK))
    if returns.shape != values.shape:
        raise ValueError(
            f"returns {tuple(returns.shape)} and values {tuple(values.shape)} "
            f"must have the same shape"
        )
    selected = mask != 0
    if not bool(selected.any()):
        raise ValueError("the batch has no response tokens: its response_mask is all 0")
    flat = (x.detach()[selected].cpu() for x in (values, returns, td_errors))
    return ResponseTokens(*flat)


class ValueDiagnostics:
    """Appends the value metrics of verl's PPO batches to a file value-diag reads.

    Call ``log(batch, step=self.global_steps)`` once per training step, right after
    ``compute_advantage`` ran on the batch (see the module's docstring). Each call logs one
    line: ``step``, the nine metrics and the critic's statistics over the batch's response
    tokens, and ``samples``, how many tokens that is.

    The file is opened here, appended to (``truncate=True`` empties it first), and starts
    with a run header naming ``verl`` as the writer; ``close()`` (or the end of a ``with``
    block) closes it.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, gamma: float, truncate: bool = False
    ) -> None:
        _require("ValueDiagnostics")
        self.path = os.fspath(path)
        self.gamma = gamma
        self.last_tokens: ResponseTokens | None = None
        """The latest batch's values, returns and TD errors."""
        self.telemetry: TelemetryWriter | None = TelemetryWriter(
            self.path, truncate=truncate, writer=WRITER
        )

    def log(self, data: Any, step: int) -> None:
        """Logs one line for a batch after ``compute_advantage``.

        Raises:
            ValueError: the writer is closed, or the batch lacks what GAE reads or writes.
        """
        if self.telemetry is None:
            raise ValueError(f"ValueDiagnostics for {self.path} is closed")
        tokens = response_tokens(data, self.gamma)
        self.last_tokens = tokens
        metrics = compute_value_metrics(tokens.values, tokens.returns, tokens.td_errors)
        self.telemetry.log(metrics, step=step, samples=tokens.samples)

    def close(self) -> None:
        """Closes the file; closing twice is fine."""
        if self.telemetry is not None:
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
