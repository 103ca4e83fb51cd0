"""RLlib (its new API stack): the value metrics of each training batch, read right after
RLlib's GAE learner connector ran.

Importing this module needs neither Ray nor torch; using it needs RLlib
(``pip install 'value-diag[rllib]'``). value-diag itself never depends on it.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from value_diag.producer.metrics import CriticChange, ValueBound, compute_value_metrics
from value_diag.producer.writer import TelemetryWriter

WRITER: Final = "rllib"
"""What the run header names as the writer."""
EXTRA: Final = "pip install 'value-diag[rllib]'"
"""How to install what this module needs, as its ImportError says."""
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]+")
"""What a module id may not bring into a file name: anything but letters, digits, _ and -."""


def _require(what: str) -> None:
    """Imports RLlib's GAE connector, or says how to install RLlib."""
    try:
        _rllib("connectors.learner.general_advantage_estimation")
    except ImportError:
        raise ImportError(f"{what} needs ray[rllib]: {EXTRA}") from None


def _rllib(module: str) -> Any:
    """A module of ``ray.rllib``, imported when used. By name, so that this module (and
    mypy) needs no Ray where RLlib is not installed: value-diag does not depend on it."""
    return importlib.import_module(f"ray.rllib.{module}")


def run_path(
    path: str | os.PathLike[str],
    learner: int,
    learners: int,
    module_id: str | None = None,
) -> Path:
    """The file one learner writes one module's lines to.

    With one learner (``num_learners`` 0 or 1) and one module with a value function, the
    file is ``path`` itself. Several learners each write a file of their own beside it,
    ``run.learner1.jsonl`` for ``run.jsonl``: they are processes of their own, often on
    other machines, each with its own share of the episodes, so their critics' numbers
    differ and one file could hold only one of their runs. Several modules (multi-agent)
    add the module id (``run.learner1.policy_2.jsonl``), since their critics differ too.
    """
    base = Path(path)
    parts = []
    if learners > 1:
        parts.append(f"learner{learner}")
    if module_id is not None:
        parts.append(_UNSAFE.sub("_", module_id) or "_")
    if not parts:
        return base
    return base.with_name(f"{base.stem}.{'.'.join(parts)}{base.suffix}")


def gae_td_errors(
    values: Any, rewards: Any, terminateds: Any, truncateds: Any, gamma: float
) -> Any:
    """Every TD error of one module's unpadded batch, as RLlib's GAE computes them.

    delta_t = r_t + gamma * (1 - terminated_t) * V(s_t+1) - V(s_t), with V(s_t+1) the
    next row's value and 0.0 after the last row: the same numpy operations in the same
    order on the same dtypes as ``compute_value_targets``
    (``ray.rllib.utils.postprocessing.value_predictions``), which the
    ``GeneralAdvantageEstimation`` connector calls, so its recursion over these gives
    RLlib's value targets bit for bit. The rows are the episodes as
    ``AddOneTsToEpisodesAndTruncate`` left them: each ends with an artificial step (reward
    0.0, not terminated, not truncated, outside the loss mask) whose value is the
    bootstrap V(s_T) of the real last step before it; a truncation does not cut that
    bootstrap, only the recursion. The artificial steps' own TD errors are meaningless
    (their next row is another episode) and never reach an advantage of a real step.

    Args:
        values: V(s_t), float32, as ``compute_values`` gave them.
        rewards, terminateds, truncateds: the batch's columns, unpadded, as numpy.
        gamma: the GAE connector's ``gamma``.

    Returns:
        A float64 array (numpy promotes as RLlib's GAE does), one TD error per row.
    """
    import numpy as np

    non_terminal = 1.0 - terminateds
    next_state_values = np.append(values[1:], 0.0)
    return rewards + gamma * non_terminal * next_state_values - values


@dataclass(frozen=True, slots=True)
class GAEBatch:
    """One module's batch as RLlib's GAE saw it: numpy, unpadded, one row per step, the
    artificial bootstrap steps included (``loss_mask`` False there)."""

    values: Any
    """V(s_t) as GAE computed it (``compute_values``), float32."""
    value_targets: Any
    """What GAE wrote as ``Postprocessing.VALUE_TARGETS``: its advantages (before they
    are standardized) + V(s_t)."""
    td_errors: Any
    """``gae_td_errors`` of the batch, float64."""
    loss_mask: Any
    """True for the real steps, False for the artificial ones."""
    rewards: Any = None
    """The rewards column as GAE read it: what ``ValueBound`` reads (of the real steps)."""

    @property
    def samples(self) -> int:
        """How many real steps the batch holds."""
        return int(self.loss_mask.sum())

    def real(self) -> tuple[Any, Any, Any]:
        """The values, returns and TD errors of the real steps, as value-diag logs them."""
        mask = self.loss_mask
        return self.values[mask], self.value_targets[mask], self.td_errors[mask]


def critic_parameters(module: Any) -> list[Any] | None:
    """The weights only the value function of an RLlib module uses: its value head (``vf``)
    and, when the critic has an encoder of its own (PPO's default module unless
    ``vf_share_layers``), that encoder (``encoder.critic_encoder``); None for a module
    without a ``vf`` head, whose critic value-diag cannot tell apart."""
    head = getattr(module, "vf", None)
    if head is None or not hasattr(head, "parameters"):
        return None
    own = getattr(getattr(module, "encoder", None), "critic_encoder", None)
    layers = [] if own is None or not hasattr(own, "parameters") else list(own.parameters())
    return [*layers, *head.parameters()]


def _modules(rl_module: Any) -> dict[str, Any]:
    """Each module of a (multi-)RLModule by its id, unwrapped, as GAE takes them: on several
    learners each module is wrapped for DDP."""
    found: dict[str, Any] = rl_module.foreach_module(
        lambda module_id, module: module, return_dict=True
    )
    return found


def _column(batch: Any, module_id: str, key: str) -> Any:
    found = batch[module_id].get(key)
    if found is None:
        raise ValueError(
            f"the batch of module {module_id!r} has no {key!r}: value-diag reads the batch "
            f"right after RLlib's GeneralAdvantageEstimation connector ran"
        )
    return found


def gae_batches(rl_module: Any, batch: Any, episodes: Any, gamma: float) -> dict[str, GAEBatch]:
    """The values, value targets and TD errors of each module in a learner batch, after
    the ``GeneralAdvantageEstimation`` connector ran on it.

    GAE does not keep V(s_t) in the batch: they are computed again here the way it
    computed them, by ``compute_values`` of the same module, on the same batch, before the
    update changes the critic. The episode lengths that undo zero-padding (stateful
    modules) are GAE's own. A batch without ``columns.LOSS_MASK`` (no
    ``AddOneTsToEpisodesAndTruncate``) counts every row as a real step.

    Raises:
        ImportError: RLlib is not installed.
        ValueError: a column GAE reads or writes is missing, or lengths differ.
    """
    _require("gae_batches")
    import numpy as np
    import torch

    connector_v2 = _rllib("connectors.connector_v2").ConnectorV2
    columns = _rllib("core.columns").Columns
    value_function_api = _rllib("core.rl_module.apis.value_function_api").ValueFunctionAPI
    postprocessing = _rllib("evaluation.postprocessing").Postprocessing
    convert_to_numpy = _rllib("utils.numpy").convert_to_numpy
    unpad_data_if_necessary = _rllib("utils.postprocessing.zero_padding").unpad_data_if_necessary

    episodes_list = list(
        connector_v2.single_agent_episode_iterator(episodes, agents_that_stepped_only=False)
    )
    found: dict[str, GAEBatch] = {}
    for module_id, module in _modules(rl_module).items():
        if module_id not in batch or not isinstance(module, value_function_api):
            continue
        lens = [len(e) for e in episodes_list if e.module_id in (None, module_id)]

        def unpadded(x: Any, lens: list[int] = lens) -> Any:
            return unpad_data_if_necessary(lens, convert_to_numpy(x))

        with torch.no_grad():
            values = unpadded(module.compute_values(batch[module_id]))
        rewards, terminateds, truncateds, targets = (
            unpadded(_column(batch, module_id, key))
            for key in (
                columns.REWARDS,
                columns.TERMINATEDS,
                columns.TRUNCATEDS,
                postprocessing.VALUE_TARGETS,
            )
        )
        mask = batch[module_id].get(columns.LOSS_MASK)
        mask = np.ones(values.shape, dtype=bool) if mask is None else unpadded(mask).astype(bool)
        if not values.shape == rewards.shape == targets.shape == mask.shape:
            raise ValueError(
                f"module {module_id!r}: values {values.shape}, rewards {rewards.shape}, "
                f"value targets {targets.shape} and loss mask {mask.shape} must have the "
                f"same shape, as GAE needs"
            )
        td_errors = gae_td_errors(values, rewards, terminateds, truncateds, gamma)
        found[module_id] = GAEBatch(values, targets, td_errors, mask, rewards)
    return found


def _gae_connector(pipeline: Any) -> Any:
    """The learner pipeline's GeneralAdvantageEstimation piece (or a subclass of it)."""
    gae_class = _rllib("connectors.learner.general_advantage_estimation").GeneralAdvantageEstimation

    for piece in getattr(pipeline, "connectors", ()):
        if isinstance(piece, gae_class):
            return piece
    raise ValueError(
        "value-diag reads the batch after RLlib's GeneralAdvantageEstimation connector, "
        "and this learner's connector pipeline has none (PPO on the new API stack, with "
        "add_default_connectors_to_learner_pipeline, has it)"
    )


@functools.cache
def _connector_class() -> type[Any]:
    """``ValueDiagnosticsConnector``: defined on first use, as it subclasses RLlib's
    ConnectorV2."""
    base: type[Any] = _rllib("connectors.connector_v2").ConnectorV2

    class ValueDiagnosticsConnector(base):  # type: ignore[misc]  # base: Any, by name
        """A learner connector piece, placed right after GAE, that logs a line per module
        for each batch it sees: one a training iteration, on each learner."""

        def __init__(
            self,
            input_observation_space: Any = None,
            input_action_space: Any = None,
            *,
            path: str,
            learner: int = 0,
            learners: int = 1,
            gamma: float,
            truncate: bool = False,
        ) -> None:
            super().__init__(input_observation_space, input_action_space)
            self.path, self.learner, self.learners = path, learner, learners
            self.gamma, self.truncate = gamma, truncate
            self.steps: dict[str, int] = {}
            """Real steps of each module this learner was given so far: the line's step."""
            self.last_batches: dict[str, GAEBatch] = {}
            """The latest batch of each module."""
            self.writers: dict[str, TelemetryWriter] = {}
            self.bounds: dict[str, ValueBound] = {}
            """The value bound of each module's rewards so far."""
            self.changes: dict[str, CriticChange] = {}
            """How far each module's critic moved since its line before."""

        def __call__(self, *, rl_module: Any, batch: Any, episodes: Any, **kwargs: Any) -> Any:
            batches = gae_batches(rl_module, batch, episodes, self.gamma)
            modules = _modules(rl_module)
            for module_id, found in batches.items():
                values, returns, td_errors = found.real()
                self.steps[module_id] = self.steps.get(module_id, 0) + found.samples
                writer = self.writers.get(module_id)
                if writer is None:
                    several = len(batches) > 1
                    path = run_path(
                        self.path, self.learner, self.learners, module_id if several else None
                    )
                    writer = TelemetryWriter(path, truncate=self.truncate, writer=WRITER)
                    self.writers[module_id] = writer
                bound = self.bounds.setdefault(module_id, ValueBound(self.gamma))
                bound.see(found.rewards[found.loss_mask])
                critic = critic_parameters(modules[module_id])
                change = None
                if critic is not None:  # before this batch's update: moved since the last
                    change = self.changes.setdefault(module_id, CriticChange()).measure(critic)
                metrics = compute_value_metrics(
                    values, returns, td_errors, bound=bound.range, critic_change=change
                )
                writer.log(metrics, step=self.steps[module_id], samples=found.samples)
            self.last_batches = batches
            return batch

        def close(self) -> None:
            """Closes the files; each line was written whole when it was logged."""
            for writer in self.writers.values():
                writer.close()

    return ValueDiagnosticsConnector


def install(learner: Any, *, path: str, learners: int = 1, truncate: bool = False) -> Any:
    """Puts a value-diag connector piece right after GAE in a learner's connector pipeline.

    ``ValueDiagnostics`` calls this on every learner; call it yourself on a learner built
    another way. ``gamma`` is the GAE piece's own. A learner that has the piece already
    keeps it, alone: installed twice, it would log every batch twice.

    Returns:
        The piece: ``last_batches`` holds the latest batch of each module.

    Raises:
        ImportError: RLlib is not installed.
        ValueError: the pipeline has no GeneralAdvantageEstimation piece.
    """
    _require("install")
    pipeline = learner._learner_connector
    gae = _gae_connector(pipeline)
    for existing in pipeline.connectors:
        if isinstance(existing, _connector_class()):
            return existing
    piece = _connector_class()(
        path=path,
        learner=int(getattr(learner, "_learner_index", 0)),
        learners=learners,
        gamma=gae.gamma,
        truncate=truncate,
    )
    pipeline.insert_after(type(gae), piece)
    return piece


class ValueDiagnostics:
    """Logs the value metrics of every training batch of an RLlib algorithm to a file
    value-diag reads, one line per training iteration on each learner.

    Give it to the algorithm's config as its ``on_algorithm_init`` callback:

        config = PPOConfig().environment("CartPole-v1").callbacks(
            on_algorithm_init=ValueDiagnostics("run.jsonl")
        )

    When the algorithm is built, it puts a connector piece right after RLlib's
    ``GeneralAdvantageEstimation`` in each learner's connector pipeline; the piece takes
    the batch GAE wrote (value targets, rewards, terminateds, truncateds, loss mask),
    computes the critic's values again as GAE did, rebuilds the TD errors as GAE computed
    them, and appends a line of the real steps' metrics, with ``step`` the steps that
    learner was given so far and ``samples`` the batch's, and from the second line on how
    far the critic's own weights moved since the line before (``critic_parameters``).
    Each file starts with a run header naming ``rllib`` as the writer; ``truncate=True``
    empties it first. Several learners write a file each, several modules too
    (``run_path``). Each line is written whole when logged; the files close when the
    learners' processes end.
    """

    def __init__(self, path: str | os.PathLike[str], *, truncate: bool = False) -> None:
        _require("ValueDiagnostics")
        self.path = os.fspath(path)
        self.truncate = truncate

    def __call__(self, *, algorithm: Any, **kwargs: Any) -> None:
        """Installs the piece on every learner of ``algorithm`` (RLlib calls this once it
        is built).

        Raises:
            ValueError: the algorithm has no learner group (the old API stack), or a
                learner has no GAE connector.
        """
        learner_group = getattr(algorithm, "learner_group", None)
        if learner_group is None:
            raise ValueError(
                "value-diag's RLlib integration needs RLlib's new API stack (learners and "
                "connectors); this algorithm has no learner group"
            )
        learners = int(algorithm.config.num_learners)
        results = learner_group.foreach_learner(
            functools.partial(_install_quietly, path=self.path, truncate=self.truncate),
            learners=learners,
        )
        for result in results:
            if not result.ok:
                raise result.get()


def _install_quietly(learner: Any, *, path: str, learners: int, truncate: bool) -> None:
    """``install``, returning nothing: the piece stays in the learner's process."""
    install(learner, path=path, learners=learners, truncate=truncate)
