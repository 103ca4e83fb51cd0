"""Regenerate the deterministic sample telemetry logs in sample_logs/ (stdlib only)."""

from __future__ import annotations

import argparse
import json
import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

N_ENVS = 4
MAX_EPOCHS = 25
# PPO_UPDATE_COMPLETED payload key set, in the order esper-lite's FileOutput writes it.
PPO_TEMPLATE = (
    "policy_loss=0.1 value_loss=0.5 entropy=1.2 grad_norm=1.0 kl_divergence=0.01 "
    "clip_fraction=0.1 nan_grad_count=0 pre_clip_grad_norm=0.0 explained_variance=null "
    "entropy_loss=0.0 advantage_mean=0.0 advantage_std=0.0 advantage_skewness=0.0 "
    "advantage_kurtosis=0.0 advantage_positive_ratio=0.5 pre_norm_advantage_mean=0.0 "
    "pre_norm_advantage_std=0.0 return_mean=0.0 return_std=0.0 v_return_correlation=0.85 "
    "td_error_mean=1.0 td_error_std=8.7 bellman_error=5.0 return_p10=-12.0 "
    "return_p50=34.0 return_p90=78.0 return_variance=200.0 return_skewness=0.3 "
    "value_target_scale=1.0 ratio_mean=1.0 ratio_min=1.0 ratio_max=1.0 ratio_std=0.0 "
    "log_prob_min=0.0 log_prob_max=0.0 lr=null entropy_coef=null inf_grad_count=0 "
    "dead_layers=0 exploding_layers=0 layer_gradient_health=null entropy_collapsed=false "
    "head_nan_detected=null head_inf_detected=null loss_scale=null "
    "amp_overflow_detected=false update_skipped=false update_time_ms=0.0 "
    "early_stop_epoch=null head_slot_entropy=null head_blueprint_entropy=null "
    "head_slot_grad_norm=null head_blueprint_grad_norm=null head_style_grad_norm=null "
    "head_tempo_grad_norm=null head_alpha_target_grad_norm=null "
    "head_alpha_speed_grad_norm=null head_alpha_curve_grad_norm=null head_op_grad_norm=null "
    "head_style_entropy=null head_tempo_entropy=null head_alpha_target_entropy=null "
    "head_alpha_speed_entropy=null head_alpha_curve_entropy=null head_op_entropy=null "
    "head_slot_ratio_max=1.0 head_blueprint_ratio_max=1.0 head_style_ratio_max=1.0 "
    "head_tempo_ratio_max=1.0 head_alpha_target_ratio_max=1.0 head_alpha_speed_ratio_max=1.0 "
    "head_alpha_curve_ratio_max=1.0 head_op_ratio_max=1.0 joint_ratio_max=1.0 inner_epoch=0 "
    "batch=0 ppo_updates_count=1 skipped=false value_mean=0.0 value_std=0.0 value_min=0.0 "
    "value_max=0.0 q_germinate=0.0 q_advance=0.0 q_fossilize=0.0 q_prune=0.0 q_wait=0.0 "
    "q_set_alpha=0.0 q_variance=0.0 q_spread=0.0 clip_fraction_positive=0.0 "
    "clip_fraction_negative=0.0 gradient_cv=0.0 cuda_memory_allocated_gb=0.0 "
    "cuda_memory_reserved_gb=0.0 cuda_memory_peak_gb=0.0 cuda_memory_fragmentation=0.0 "
    "lstm_h_l2_total=null lstm_c_l2_total=null lstm_h_rms=null lstm_c_rms=null "
    "lstm_h_env_rms_mean=null lstm_h_env_rms_max=null lstm_c_env_rms_mean=null "
    "lstm_c_env_rms_max=null lstm_h_max=null lstm_c_max=null lstm_has_nan=false "
    "lstm_has_inf=false"
)
# fmt: off
START_DATA: dict[str, Any] = {
    "n_envs": N_ENVS, "max_epochs": MAX_EPOCHS, "max_batches": 80, "task": "cifar_baseline",
    "host_params": 123456, "slot_ids": ["r0c0", "r0c1"], "seed": 0, "n_episodes": 80,
    "lr": 0.0003, "clip_ratio": 0.2, "entropy_coef": 0.01, "param_budget": 50000,
    "policy_device": "cuda:0", "env_devices": ["cuda:0", "cuda:1"], "reward_mode": "shaped",
    "episode_id": "", "resume_path": "", "start_episode": 0, "entropy_anneal": None,
    "world_size": 1, "rank": 0, "local_rank": 0, "amp_enabled": False, "amp_dtype": None,
}
Curve = tuple[float, float, float]  # (start, end, noise sigma)
HEALTHY: dict[str, Curve] = {
    "corr": (0.35, 0.9, 0.012), "td_mean": (6.0, 1.2, 0.25), "td_std": (9.0, 3.5, 0.2),
    "bellman": (32.0, 7.0, 0.8), "p50": (8.0, 24.0, 0.6), "lo_gap": (22.0, 16.0, 0.4),
    "hi_gap": (30.0, 17.0, 0.5), "variance": (420.0, 70.0, 5.0), "skew": (1.3, 0.25, 0.03),
}
COLLAPSE: dict[str, Curve] = {
    "corr": (0.85, 0.15, 0.012), "td_mean": (1.0, 21.0, 0.3), "td_std": (8.8, 14.0, 0.25),
    "bellman": (5.0, 85.0, 1.0), "p50": (34.0, 39.0, 0.4), "lo_gap": (46.0, 41.0, 0.4),
    "hi_gap": (44.0, 29.0, 0.4), "variance": (200.0, 50.0, 3.0), "skew": (0.3, 1.3, 0.03),
}
BIMODAL: dict[str, Curve] = {
    "corr": (0.45, 0.87, 0.012), "td_mean": (4.0, 1.5, 0.25), "td_std": (8.0, 4.5, 0.2),
    "bellman": (25.0, 11.0, 0.8), "p50": (4.0, 6.0, 0.6), "lo_gap": (20.0, 52.0, 0.8),
    "hi_gap": (25.0, 48.0, 0.8), "variance": (180.0, 1100.0, 12.0), "skew": (0.6, 1.5, 0.03),
}
# fmt: on


@dataclass(frozen=True)
class Scenario:
    """One sample file: its curves, shape and compile settings."""

    name: str
    seed: int
    steps: int
    curves: dict[str, Curve]
    ease: Callable[[float], float]
    compile_cfg: tuple[bool, str | None, str | None] = (True, "inductor", "reduce-overhead")
    shape: str = "esper"
    blow_up: bool = False


def ease_out(t: float) -> float:
    return 1.0 - (1.0 - t) ** 2


def ease_in(t: float) -> float:
    return math.pow(t, 1.6)


def trajectory(rng: random.Random, scn: Scenario) -> list[dict[str, float]]:
    """Nine smooth metric series: eased start->end plus AR(1) noise that fades at the end."""
    noise = dict.fromkeys(scn.curves, 0.0)
    rows: list[dict[str, float]] = []
    for i in range(scn.steps):
        t = i / (scn.steps - 1)
        c: dict[str, float] = {}
        for key, (start, end, sigma) in scn.curves.items():
            noise[key] = 0.7 * noise[key] + rng.gauss(0.0, sigma)
            c[key] = start + (end - start) * scn.ease(t) + noise[key] * (1.0 - 0.6 * t)
        p50 = c["p50"]
        rows.append(
            {
                "v_return_correlation": max(-1.0, min(1.0, c["corr"])),
                "td_error_mean": c["td_mean"],
                "td_error_std": max(0.1, c["td_std"]),
                "bellman_error": max(0.0, c["bellman"]),
                "return_p10": p50 - max(1.0, c["lo_gap"]),
                "return_p50": p50,
                "return_p90": p50 + max(1.0, c["hi_gap"]),
                "return_variance": max(1.0, c["variance"]),
                "return_skewness": c["skew"],
            }
        )
    if scn.blow_up:
        rows[-1].update(
            v_return_correlation=math.nan, bellman_error=math.nan, td_error_std=math.inf
        )
    return rows


def event(
    rng: random.Random,
    kind: str,
    ts: datetime,
    epoch: int | None,
    data: dict[str, Any],
    message: str = "",
) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": kind,
        "timestamp": ts.isoformat(timespec="microseconds"),
        "seed_id": None,
        "slot_id": None,
        "epoch": epoch,
        "group_id": "default",
        "message": message,
        "data": data,
        "severity": "info",
    }


def ppo_data(rng: random.Random, epoch: int, m: dict[str, float]) -> dict[str, Any]:
    """The full PPO payload, the nine value metrics plus loosely coupled companions."""
    data: dict[str, Any] = {
        k: json.loads(v) for k, v in (tok.split("=", 1) for tok in PPO_TEMPLATE.split())
    }
    corr, std = m["v_return_correlation"], math.sqrt(m["return_variance"])
    data.update(m)
    data.update(
        policy_loss=rng.gauss(0.02, 0.01),
        value_loss=m["bellman_error"] / 20.0,
        entropy=1.35 - 0.4 * epoch / 80 + rng.gauss(0, 0.02),
        grad_norm=abs(rng.gauss(0.8, 0.15)),
        kl_divergence=abs(rng.gauss(0.012, 0.003)),
        clip_fraction=abs(rng.gauss(0.12, 0.02)),
        explained_variance=None if epoch == 0 else (-0.4 if math.isnan(corr) else corr * corr),
        return_mean=m["return_p50"] + 0.3 * std * m["return_skewness"],
        return_std=std,
        layer_gradient_health={f"layer{j}": rng.random() for j in range(12)},
        update_time_ms=rng.uniform(1400.0, 1700.0),
        inner_epoch=epoch % MAX_EPOCHS,
        batch=epoch,
    )
    return data


def esper_lines(rng: random.Random, scn: Scenario, rows: list[dict[str, float]]) -> list[str]:
    """TRAINING_STARTED, then per epoch: one EPOCH_COMPLETED per env and a PPO update."""
    ts = datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC) + timedelta(minutes=scn.seed % 600)
    enabled, backend, mode = scn.compile_cfg
    compile_keys = {"compile_enabled": enabled, "compile_backend": backend, "compile_mode": mode}
    start = {**START_DATA, "seed": scn.seed, **compile_keys}
    events = [event(rng, "TRAINING_STARTED", ts, None, start, "training started")]
    for epoch, metrics in enumerate(rows):
        ts += timedelta(seconds=rng.uniform(38.0, 46.0))
        acc = 45.0 + 35.0 * (1.0 - math.exp(-epoch / 20.0))
        val_loss = 1.0 / (1.0 + epoch / 6.0)
        for env in range(N_ENVS):
            ts += timedelta(microseconds=rng.randint(15, 60))
            data = {
                "env_id": env,
                "val_accuracy": acc + rng.gauss(0.0, 0.4),
                "val_loss": val_loss,
                "inner_epoch": epoch % MAX_EPOCHS,
                "train_loss": 0.9 * val_loss,
                "train_accuracy": None,
                "host_grad_norm": None,
                "seeds": None,
            }
            events.append(event(rng, "EPOCH_COMPLETED", ts, epoch, data))
        ts += timedelta(seconds=rng.uniform(1.4, 1.7))
        events.append(event(rng, "PPO_UPDATE_COMPLETED", ts, epoch, ppo_data(rng, epoch, metrics)))
    return [json.dumps(e, default=str) for e in events]


def other_lines(scn: Scenario, rows: list[dict[str, float]]) -> list[str]:
    """The 'flat' and 'snapshot' shapes."""
    enabled, backend, mode = scn.compile_cfg
    infra = {"compile_enabled": enabled, "compile_backend": backend, "compile_mode": mode}
    if scn.shape == "flat":
        return [json.dumps(infra)] + [json.dumps({"step": i, **m}) for i, m in enumerate(rows)]
    return [
        json.dumps({"step": i, "tamiyo": {"value_function": m, "infrastructure": infra}})
        for i, m in enumerate(rows)
    ]


SCENARIOS = (
    Scenario("healthy", 1101, 60, HEALTHY, ease_out),
    Scenario(
        "collapse", 2202, 60, COLLAPSE, ease_in, (True, "inductor", "max-autotune"), blow_up=True
    ),
    Scenario("bimodal", 3303, 50, BIMODAL, ease_out),
    Scenario("eager", 4404, 44, HEALTHY, ease_out, (False, None, None)),
    Scenario("flat", 5505, 50, HEALTHY, ease_out, (True, "inductor", "default"), "flat"),
    Scenario("snapshot", 6606, 50, HEALTHY, ease_out, shape="snapshot"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for scn in SCENARIOS:
        rng = random.Random(scn.seed)
        rows = trajectory(rng, scn)
        lines = esper_lines(rng, scn, rows) if scn.shape == "esper" else other_lines(scn, rows)
        path = out / f"{scn.name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
        print(f"wrote {path} ({len(lines)} lines)")


if __name__ == "__main__":
    main()
