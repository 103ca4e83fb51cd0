"""Synthetic training runs: per-scenario rollouts -> compute_value_metrics -> telemetry lines."""

from __future__ import annotations

import dataclasses
import math
import os
import random
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from value_diag.producer.metrics import RolloutMetrics, compute_value_metrics
from value_diag.producer.writer import TelemetryWriter, compile_record, flat_record, run_header
from value_diag.schema import VALUE_FIELDS, ValueFunctionMetrics

N_ENVS: Final = 4
"""EPOCH_COMPLETED events per update, one per environment, as esper-lite writes them."""
MAX_EPOCHS: Final = 25


class Scenario(StrEnum):
    """What the simulated value head does over the run."""

    HEALTHY = "healthy"
    """Learns: correlation rises to about 0.9, TD and Bellman error settle low."""
    COLLAPSE = "collapse"
    """Diverges: correlation falls below 0.3, TD and Bellman error climb, the end is NaN."""
    BIMODAL = "bimodal"
    """Learns, but the returns split into failures and successes."""
    EAGER = "eager"
    """Healthy, with torch.compile off."""


class LogFormat(StrEnum):
    """The shape of the lines written: value-diag reads all three."""

    ESPER = "esper"
    FLAT = "flat"
    SNAPSHOT = "snapshot"


Compile = tuple[bool, str | None, str | None]
"""(compile_enabled, compile_backend, compile_mode)."""
Span = tuple[float, float]
"""A quantity at the first update and at the last."""


def ease_out(t: float) -> float:
    """Fast change early, settling late (learning)."""
    return 1.0 - (1.0 - t) ** 2


def ease_in(t: float) -> float:
    """Slow change early, accelerating late (divergence)."""
    return float(t**1.6)


@dataclass(frozen=True, slots=True)
class Profile:
    """How a scenario's rollouts move from the first update to the last.

    Returns are a skewed distribution around ``centre``, or two modes ``split`` apart
    with ``success`` of the episodes in the upper one. Values track the returns with
    noise chosen to give the ``correlation`` wanted, ``td_mean`` below them; TD errors
    have mean ``td_mean`` and standard deviation ``td_std``.
    """

    correlation: Span
    td_mean: Span
    td_std: Span
    centre: Span
    spread: Span
    """Standard deviation of the returns (of each mode, when split)."""
    skew: Span
    """Skewness of the returns (of each mode, when split)."""
    ease: Callable[[float], float]
    compile: Compile
    split: Span = (0.0, 0.0)
    success: float = 0.2
    blow_up: bool = False
    """The last update is NaN / Infinity, the way a run whose loss went NaN logs it."""


PROFILES: Final[dict[Scenario, Profile]] = {
    Scenario.HEALTHY: Profile(
        correlation=(0.35, 0.9),
        td_mean=(6.0, 1.0),
        td_std=(9.0, 3.0),
        centre=(8.0, 24.0),
        spread=(20.0, 8.0),
        skew=(1.3, 0.25),
        ease=ease_out,
        compile=(True, "inductor", "reduce-overhead"),
    ),
    Scenario.COLLAPSE: Profile(
        correlation=(0.85, 0.15),
        td_mean=(1.0, 21.0),
        td_std=(3.0, 14.0),
        centre=(34.0, 39.0),
        spread=(14.0, 24.0),
        skew=(0.3, 1.3),
        ease=ease_in,
        compile=(True, "inductor", "max-autotune"),
        blow_up=True,
    ),
    Scenario.BIMODAL: Profile(
        correlation=(0.45, 0.87),
        td_mean=(4.0, 1.5),
        td_std=(8.0, 3.5),
        centre=(4.0, -21.0),
        spread=(12.0, 6.0),
        skew=(0.3, 0.0),
        ease=ease_out,
        compile=(True, "inductor", "reduce-overhead"),
        split=(0.0, 95.0),
    ),
    Scenario.EAGER: Profile(
        correlation=(0.35, 0.9),
        td_mean=(6.0, 1.0),
        td_std=(9.0, 3.0),
        centre=(8.0, 24.0),
        spread=(20.0, 8.0),
        skew=(1.3, 0.25),
        ease=ease_out,
        compile=(False, None, None),
    ),
}

DEFAULT_SEEDS: Final = {
    Scenario.HEALTHY: 1101,
    Scenario.COLLAPSE: 2202,
    Scenario.BIMODAL: 3303,
    Scenario.EAGER: 4404,
}


@dataclass(frozen=True, slots=True)
class SimOptions:
    """One simulated run."""

    scenario: Scenario = Scenario.COLLAPSE
    updates: int = 40
    interval: float = 0.0
    """Seconds between updates (0: as fast as possible)."""
    format: LogFormat = LogFormat.ESPER
    seed: int | None = None
    """None: the scenario's own seed. The same seed gives the same metrics."""
    steps: int = 256
    """Transitions per rollout."""
    compile: Compile | None = None
    """None: the scenario's compile status."""
    start: datetime | None = None
    """Event timestamps simulated from this moment; None: the real clock."""
    group: str = "default"
    """esper format: the events' ``group_id`` (esper-lite's A/B runs name theirs "A", "B")."""
    skipped: frozenset[int] = frozenset()
    """esper format: updates (0-based) whose PPO event is esper-lite's skipped placeholder."""


# --- rollouts -> metrics (pure; a seeded generator in, numbers out) ----------------------------


def _at(span: Span, t: float) -> float:
    return span[0] + (span[1] - span[0]) * t


def _skewed(rng: random.Random, skew: float) -> float:
    """A draw with mean 0, variance 1 and the given skewness (a standardised gamma)."""
    if abs(skew) < 0.05:
        return rng.gauss(0.0, 1.0)
    shape = (2.0 / skew) ** 2
    z = (rng.gammavariate(shape, 1.0) - shape) / math.sqrt(shape)
    return math.copysign(1.0, skew) * z


def rollout(
    rng: random.Random, profile: Profile, progress: float, steps: int
) -> tuple[list[float], list[float], list[float]]:
    """Values, returns and TD errors of one synthetic rollout at ``progress`` (0 to 1)."""
    t = profile.ease(progress)
    centre, sd, skew = _at(profile.centre, t), _at(profile.spread, t), _at(profile.skew, t)
    split = _at(profile.split, t)
    lower, upper = centre - split * profile.success, centre + split * (1.0 - profile.success)
    returns = []
    for _ in range(steps):
        mode = upper if split and rng.random() < profile.success else lower
        returns.append(mode + sd * _skewed(rng, skew))
    mean = math.fsum(returns) / steps
    sd_returns = math.sqrt(math.fsum((g - mean) ** 2 for g in returns) / steps)
    # Value error of the size that leaves the wanted correlation between V(s) and G.
    corr = _at(profile.correlation, t)
    noise = sd_returns * math.sqrt(1.0 / (corr * corr) - 1.0)
    td_mean, td_std = _at(profile.td_mean, t), _at(profile.td_std, t)
    # V lags the returns by the TD errors' mean, as returns made from them carry it (once,
    # as one-step targets do): the bootstrap check finds the rollout consistent.
    values = [g - td_mean + rng.gauss(0.0, noise) for g in returns]
    td_errors = [rng.gauss(td_mean, td_std) for _ in range(steps)]
    return values, returns, td_errors


def metric_series(
    scenario: Scenario, updates: int, seed: int | None = None, steps: int = 256
) -> Iterator[tuple[ValueFunctionMetrics, float]]:
    """Each update's metrics and explained variance, computed from its rollout."""
    for metrics, explained, _ in rollout_series(scenario, updates, seed, steps):
        yield metrics, explained


def rollout_series(
    scenario: Scenario, updates: int, seed: int | None = None, steps: int = 256
) -> Iterator[tuple[ValueFunctionMetrics, float, float]]:
    """metric_series(), and each update's mean |TD error|: esper-lite's bellman_error."""
    profile = PROFILES[scenario]
    rng = random.Random(DEFAULT_SEEDS[scenario] if seed is None else seed)
    for i in range(updates):
        values, returns, td_errors = rollout(rng, profile, i / max(1, updates - 1), steps)
        # Pure Python: the same bits whether numpy is installed or not (reproducible files).
        metrics = compute_value_metrics(values, returns, td_errors, use_numpy=False)
        explained = _explained_variance(values, returns)
        mean_abs = math.fsum(map(abs, td_errors)) / len(td_errors)
        if profile.blow_up and i == updates - 1:
            # The update whose loss went NaN, as esper-lite logs it. Written, not
            # computed: one set of TD errors cannot have a NaN mean square and an
            # infinite standard deviation at once.
            metrics = dataclasses.replace(
                metrics,
                v_return_correlation=math.nan,
                bellman_error=math.nan,
                td_error_std=math.inf,
            )
            explained = mean_abs = math.nan
        yield metrics, explained, mean_abs


def _explained_variance(values: list[float], returns: list[float]) -> float:
    """1 - Var[G - V] / Var[G], as Stable-Baselines3 reports it."""
    n = len(returns)
    mean = math.fsum(returns) / n
    var = math.fsum((g - mean) ** 2 for g in returns) / n
    diff = [g - v for v, g in zip(values, returns, strict=True)]
    dmean = math.fsum(diff) / n
    dvar = math.fsum((x - dmean) ** 2 for x in diff) / n
    return math.nan if var == 0 else 1.0 - dvar / var


# --- metrics -> lines ----------------------------------------------------------------------------

# esper-lite's PPOUpdatePayload, field for field in its order (esper-lite 2016337, June 2026),
# as FileOutput writes it (dataclasses.asdict): the required fields with typical values, the
# rest with the dataclass's defaults. Each update overwrites what it computes.
PPO_TEMPLATE: Final[dict[str, Any]] = {
    "policy_loss": 0.1, "value_loss": 0.5, "entropy": 1.2, "grad_norm": 1.0,
    "kl_divergence": 0.01, "clip_fraction": 0.1, "nan_grad_count": 0,
    "pre_clip_grad_norm": 0.0, "explained_variance": None, "value_nrmse": None,
    "ev_low_return_variance": False, "ev_return_variance": None,
    "ev_low_return_variance_count": 0, "entropy_loss": 0.0, "advantage_mean": 0.0,
    "advantage_std": 0.0, "advantage_skewness": 0.0, "advantage_kurtosis": 0.0,
    "advantage_positive_ratio": 0.5, "pre_norm_advantage_mean": 0.0,
    "pre_norm_advantage_std": 0.0, "return_mean": 0.0, "return_std": 0.0,
    "v_return_correlation": 0.0, "td_error_mean": 0.0, "td_error_std": 0.0,
    "bellman_error": 0.0, "return_p10": 0.0, "return_p50": 0.0, "return_p90": 0.0,
    "return_variance": 0.0, "return_skewness": 0.0, "value_target_scale": 1.0,
    "ratio_mean": 1.0, "ratio_min": 1.0, "ratio_max": 1.0, "ratio_std": 0.0,
    "log_prob_min": 0.0, "log_prob_max": 0.0, "lr": None, "entropy_coef": None,
    "inf_grad_count": 0, "dead_layers": 0, "exploding_layers": 0,
    "layer_gradient_health": None, "entropy_collapsed": False, "head_nan_detected": None,
    "head_inf_detected": None, "loss_scale": None, "amp_overflow_detected": False,
    "update_skipped": False, "update_time_ms": 0.0, "early_stop_epoch": None,
    "head_slot_entropy": None, "head_blueprint_entropy": None, "head_slot_grad_norm": None,
    "head_blueprint_grad_norm": None, "head_style_grad_norm": None,
    "head_tempo_grad_norm": None, "head_alpha_target_grad_norm": None,
    "head_alpha_speed_grad_norm": None, "head_alpha_curve_grad_norm": None,
    "head_op_grad_norm": None, "head_value_grad_norm": None, "head_q_grad_norm": None,
    "head_style_entropy": None, "head_tempo_entropy": None, "head_alpha_target_entropy": None,
    "head_alpha_speed_entropy": None, "head_alpha_curve_entropy": None,
    "head_op_entropy": None, "head_slot_learnable_fraction": None,
    "head_blueprint_learnable_fraction": None, "head_style_learnable_fraction": None,
    "head_tempo_learnable_fraction": None, "head_alpha_target_learnable_fraction": None,
    "head_alpha_speed_learnable_fraction": None, "head_alpha_curve_learnable_fraction": None,
    "head_op_learnable_fraction": None, "head_slot_gradient_state": None,
    "head_blueprint_gradient_state": None, "head_style_gradient_state": None,
    "head_tempo_gradient_state": None, "head_alpha_target_gradient_state": None,
    "head_alpha_speed_gradient_state": None, "head_alpha_curve_gradient_state": None,
    "head_op_gradient_state": None, "head_value_gradient_state": None,
    "head_q_gradient_state": None, "head_slot_ratio_max": 1.0, "head_blueprint_ratio_max": 1.0,
    "head_style_ratio_max": 1.0, "head_tempo_ratio_max": 1.0,
    "head_alpha_target_ratio_max": 1.0, "head_alpha_speed_ratio_max": 1.0,
    "head_alpha_curve_ratio_max": 1.0, "head_op_ratio_max": 1.0, "joint_ratio_max": 1.0,
    "head_slot_clip_fraction": 0.0, "head_blueprint_clip_fraction": 0.0,
    "head_style_clip_fraction": 0.0, "head_tempo_clip_fraction": 0.0,
    "head_alpha_target_clip_fraction": 0.0, "head_alpha_speed_clip_fraction": 0.0,
    "head_alpha_curve_clip_fraction": 0.0, "head_op_clip_fraction": 0.0, "inner_epoch": 0,
    "batch": 0, "ppo_updates_count": 1, "skipped": False, "value_mean": 0.0, "value_std": 0.0,
    "value_min": 0.0, "value_max": 0.0, "op_q_values": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "op_valid_mask": [True, True, True, True, True, True], "q_variance": 0.0, "q_spread": 0.0,
    "q_aux_loss": None, "clip_fraction_positive": 0.0, "clip_fraction_negative": 0.0,
    "gradient_cv": 0.0, "cuda_memory_allocated_gb": 0.0, "cuda_memory_reserved_gb": 0.0,
    "cuda_memory_peak_gb": 0.0, "cuda_memory_fragmentation": 0.0, "dataloader_wait_ratio": 0.0,
    "lstm_h_l2_total": None, "lstm_c_l2_total": None, "lstm_h_rms": None, "lstm_c_rms": None,
    "lstm_h_env_rms_mean": None, "lstm_h_env_rms_max": None, "lstm_c_env_rms_mean": None,
    "lstm_c_env_rms_max": None, "lstm_h_max": None, "lstm_c_max": None, "lstm_has_nan": False,
    "lstm_has_inf": False, "rollout_lstm_h_l2_total": None, "rollout_lstm_c_l2_total": None,
    "rollout_lstm_h_rms": None, "rollout_lstm_c_rms": None,
    "rollout_lstm_h_env_rms_mean": None, "rollout_lstm_h_env_rms_max": None,
    "rollout_lstm_c_env_rms_mean": None, "rollout_lstm_c_env_rms_max": None,
    "rollout_lstm_h_max": None, "rollout_lstm_c_max": None, "rollout_lstm_has_nan": False,
    "rollout_lstm_has_inf": False, "forced_step_ratio": 0.0, "usable_actor_timesteps": 0,
    "decision_density": 1.0, "advantage_std_floored": False, "d5_pre_norm_advantage_std": None,
    "rollback_count": 0, "rollback_steps_zeroed": 0, "rollback_attempt_count": 0,
    "rollback_unattributed_count": 0,
}  # fmt: skip
NUM_OPS: Final = 6
"""Lifecycle operations in esper-lite (op_q_values and op_valid_mask hold one each)."""
START_DATA: Final[dict[str, Any]] = {
    "n_envs": N_ENVS, "max_epochs": MAX_EPOCHS, "max_batches": 80, "task": "cifar_baseline",
    "host_params": 123456, "slot_ids": ["r0c0", "r0c1"], "seed": 0, "n_episodes": 80,
    "lr": 0.0003, "clip_ratio": 0.2, "entropy_coef": 0.01, "param_budget": 50000,
    "policy_device": "cuda:0", "env_devices": ["cuda:0", "cuda:1"], "reward_mode": "shaped",
    "episode_id": "", "resume_path": "", "start_episode": 0, "entropy_anneal": None,
    "world_size": 1, "rank": 0, "local_rank": 0, "amp_enabled": False, "amp_dtype": None,
    "compile_enabled": False, "compile_backend": None, "compile_mode": None,
    "proof_baseline_mode": None, "proof_baseline_pair_id": None,
    "proof_baseline_lifecycle_policy": None, "proof_baseline_schedule_id": None,
    "proof_baseline_schedule_hash": None, "proof_baseline_schedule_version": None,
    "proof_baseline_schedule_action_count": None,
}  # fmt: skip
"""esper-lite's TrainingStartedPayload, field for field (the compile fields are the run's)."""


def _values(metrics: ValueFunctionMetrics) -> dict[str, float]:
    return {name: getattr(metrics, name) for name in VALUE_FIELDS}


class EventLog:
    """Builds esper-lite events: ids and timings from a seeded generator, time from a clock."""

    def __init__(
        self, rng: random.Random, clock: Callable[[float], datetime], group: str = "default"
    ) -> None:
        self.rng = rng
        self.clock = clock
        self.group = group
        """The events' group_id."""
        self.elapsed = 0.0
        """Simulated seconds since the run started."""

    def event(
        self, kind: str, epoch: int | None, data: dict[str, Any], message: str = ""
    ) -> dict[str, Any]:
        """One event, stamped with the clock at the current simulated time."""
        bits = f"{self.rng.getrandbits(128):032x}"
        event_id = f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-a{bits[17:20]}-{bits[20:]}"
        return {
            "event_id": event_id,
            "event_type": kind,
            "timestamp": self.clock(self.elapsed).isoformat(timespec="microseconds"),
            "seed_id": None,
            "slot_id": None,
            "epoch": epoch,
            "group_id": self.group,
            "message": message,
            "data": data,
            "severity": "info",
        }

    def started(self, seed: int, compile_: Compile) -> dict[str, Any]:
        """TRAINING_STARTED, carrying the compile status."""
        enabled, backend, mode = compile_
        data = {**START_DATA, "seed": seed, **compile_record(enabled, backend, mode)}
        return self.event("TRAINING_STARTED", None, data, "training started")

    def update(
        self,
        epoch: int,
        metrics: ValueFunctionMetrics,
        explained: float,
        skipped: bool = False,
        mean_abs_td: float | None = None,
    ) -> list[dict[str, Any]]:
        """One EPOCH_COMPLETED per environment, then the PPO_UPDATE_COMPLETED.

        A ``skipped`` update (esper-lite rolled its buffer back) writes esper-lite's
        placeholder: the required numbers 0, the Q-values NaN, ``"skipped": true``.
        ``mean_abs_td`` is written as bellman_error, as esper-lite does (its mean |TD
        error|); without it, the metrics' own (mean squared) bellman_error.
        """
        rng = self.rng
        self.elapsed += rng.uniform(38.0, 46.0)
        acc = 45.0 + 35.0 * (1.0 - math.exp(-epoch / 20.0))
        val_loss = 1.0 / (1.0 + epoch / 6.0)
        events = []
        for env in range(N_ENVS):
            self.elapsed += rng.randint(15, 60) / 1e6
            data = {
                "env_id": env,
                "val_accuracy": acc + rng.gauss(0.0, 0.4),
                "val_loss": val_loss,
                "inner_epoch": epoch % MAX_EPOCHS,
                "episode_idx": epoch // MAX_EPOCHS * N_ENVS + env,
                "train_loss": 0.9 * val_loss,
                "train_accuracy": None,
                "host_grad_norm": None,
                "seeds": None,
                "observation_stats": None,
            }
            events.append(self.event("EPOCH_COMPLETED", epoch, data))
        self.elapsed += rng.uniform(1.4, 1.7)
        ppo = _skipped_ppo() if skipped else self._ppo(epoch, metrics, explained, mean_abs_td)
        events.append(self.event("PPO_UPDATE_COMPLETED", epoch, ppo))
        return events

    def _ppo(
        self,
        epoch: int,
        metrics: ValueFunctionMetrics,
        explained: float,
        mean_abs_td: float | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        data = dict(PPO_TEMPLATE)
        std = math.sqrt(metrics.return_variance)
        data.update(_values(metrics))
        if mean_abs_td is not None:
            data["bellman_error"] = mean_abs_td
        if isinstance(metrics, RolloutMetrics):
            return_mean = metrics.return_mean
        else:
            return_mean = metrics.return_p50 + 0.3 * std * metrics.return_skewness
        data.update(
            policy_loss=rng.gauss(0.02, 0.01),
            value_loss=metrics.bellman_error / 2.0,
            entropy=1.35 - 0.4 * epoch / 80 + rng.gauss(0, 0.02),
            grad_norm=abs(rng.gauss(0.8, 0.15)),
            kl_divergence=abs(rng.gauss(0.012, 0.003)),
            clip_fraction=abs(rng.gauss(0.12, 0.02)),
            **_critic(epoch, metrics, explained),
            return_mean=return_mean,
            return_std=std,
            layer_gradient_health={f"layer{j}": rng.random() for j in range(12)},
            update_time_ms=rng.uniform(1400.0, 1700.0),
            inner_epoch=epoch % MAX_EPOCHS,
            batch=epoch,
        )
        return data


def _critic(epoch: int, metrics: ValueFunctionMetrics, explained: float) -> dict[str, Any]:
    """The critic's fields: explained variance null, then NaN, early in training, as in
    esper-lite; value statistics (with the Q-values about them) when the metrics have them."""
    early = epoch < 2
    # sqrt(1 - EV) is the value error over the returns' spread; NaN with a NaN EV.
    nrmse = math.nan if math.isnan(explained) else math.sqrt(max(0.0, 1.0 - explained))
    fields: dict[str, Any] = {
        "explained_variance": None if epoch == 0 else math.nan if early else explained,
        "value_nrmse": None if early else nrmse,
        "ev_return_variance": None if early else metrics.return_variance,
    }
    if isinstance(metrics, RolloutMetrics):
        mean, std = metrics.value_mean, metrics.value_std
        q = [mean + 0.05 * std * k for k in (0.0, 0.4, -0.2, -0.6, 0.3, 0.1)]
        q_mean = math.fsum(q) / NUM_OPS
        fields.update(
            value_mean=mean,
            value_std=std,
            value_min=metrics.value_min,
            value_max=metrics.value_max,
            op_q_values=q,
            q_variance=math.fsum((x - q_mean) ** 2 for x in q) / NUM_OPS,
            q_spread=max(q) - min(q),
        )
    return fields


def _skipped_ppo() -> dict[str, Any]:
    """esper-lite's PPOUpdatePayload.skipped_update(), as FileOutput writes it."""
    data = dict(PPO_TEMPLATE)
    data.update(
        policy_loss=0.0, value_loss=0.0, entropy=0.0, grad_norm=0.0, kl_divergence=0.0,
        clip_fraction=0.0, nan_grad_count=0, op_q_values=[math.nan] * NUM_OPS,
        op_valid_mask=[False] * NUM_OPS, q_variance=math.nan, q_spread=math.nan,
        q_aux_loss=math.nan, head_q_grad_norm=math.nan, head_q_gradient_state="skipped",
        skipped=True,
    )  # fmt: skip
    return data


def _seed(options: SimOptions) -> int:
    return DEFAULT_SEEDS[options.scenario] if options.seed is None else options.seed


def batches(
    options: SimOptions, clock: Callable[[float], datetime]
) -> Iterator[list[dict[str, Any]]]:
    """The run's lines as JSON objects, one batch per update; the first opens the run.

    ``clock`` turns simulated seconds since the start into a timestamp (esper format; the
    flat format's run header).
    """
    seed = _seed(options)
    compile_ = options.compile or PROFILES[options.scenario].compile
    series = metric_series(options.scenario, options.updates, seed, options.steps)
    if options.format is LogFormat.ESPER:
        log = EventLog(random.Random(f"{seed}:events"), clock, options.group)
        opening = [log.started(seed, compile_)]
        every = rollout_series(options.scenario, options.updates, seed, options.steps)
        for epoch, (metrics, explained, mean_abs) in enumerate(every):
            skip = epoch in options.skipped
            yield opening + log.update(epoch, metrics, explained, skip, mean_abs)
            opening = []
    elif options.format is LogFormat.FLAT:
        # As TelemetryWriter writes a run: its header (started when the clock starts), then
        # the compile status and a line per update.
        opening = [run_header(started=clock(0.0).timestamp()), compile_record(*compile_)]
        for step, (metrics, _) in enumerate(series):
            yield [*opening, flat_record(metrics, step)]
            opening = []
    else:
        infra = compile_record(*compile_)
        for step, (metrics, _) in enumerate(series):
            tamiyo = {"value_function": _values(metrics), "infrastructure": infra}
            yield [{"step": step, "tamiyo": tamiyo}]


class Existing(StrEnum):
    """What to do with a file that already holds something."""

    KEEP = "keep"
    """Leave it alone: raise NotEmpty."""
    OVERWRITE = "overwrite"
    APPEND = "append"


class NotEmpty(Exception):
    """The file holds something, and was to be neither overwritten nor appended to."""

    def __init__(self, path: str, size: int) -> None:
        super().__init__(f"{path} is not empty ({size} bytes)")
        self.path = path
        self.size = size
        """Bytes in the file when it was looked at."""


def run(
    path: str,
    options: SimOptions,
    stop: threading.Event | None = None,
    on_batch: Callable[[int], None] | None = None,
    existing: Existing = Existing.OVERWRITE,
) -> int:
    """Writes the run to ``path``, pacing updates ``interval`` apart.

    What ``path`` already holds is emptied first, kept before the run, or (``KEEP``) is
    a reason to write nothing: a regular file of one byte or more is then refused.
    ``on_batch`` is called with the records written so far after each update's lines.
    Returns the number of records written; fewer than planned when ``stop`` is set.

    Raises:
        NotEmpty: ``existing`` is KEEP and the file holds something.
        OSError: the file cannot be opened or written.
    """
    stop = stop or threading.Event()
    written = 0
    if existing is Existing.KEEP:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            pass
        else:
            if stat.S_ISREG(st.st_mode) and st.st_size > 0:
                raise NotEmpty(path, st.st_size)
    # The header, where the format has one, is the first line batches() gives.
    truncate = existing is Existing.OVERWRITE
    with TelemetryWriter(path, truncate=truncate, header=False) as out:
        for i, batch in enumerate(batches(options, _clock(options.start))):
            if i and options.interval > 0 and stop.wait(options.interval):
                break
            if stop.is_set():
                break
            for record in batch:
                out.write(record)
                written += _is_record(record)
            if on_batch is not None:
                on_batch(written)
    return written


def _clock(start: datetime | None) -> Callable[[float], datetime]:
    """Simulated seconds -> timestamps: counted from ``start``, or the real time when None."""
    if start is None:
        return lambda _seconds: datetime.now(UTC)
    return lambda seconds: start + timedelta(seconds=seconds)


def _is_record(obj: dict[str, Any]) -> bool:
    """Whether value-diag uses this line (esper events other than these two are not, nor
    skipped updates)."""
    kind = obj.get("event_type")
    if kind == "PPO_UPDATE_COMPLETED":
        return obj["data"].get("skipped") is not True
    return kind in (None, "TRAINING_STARTED")
