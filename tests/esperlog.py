"""Esper-lite telemetry logs of any size, in a realistic mix, for the tests and bench/.

TRAINING_STARTED on line 1, then EPOCH_COMPLETED, ANALYTICS_SNAPSHOT, SEED_* and
BATCH_EPOCH_COMPLETED events with roughly one PPO_UPDATE_COMPLETED in twenty (about 4.4 KB
each), 1.6 KB per line on average, bare NaN/Infinity tokens in places. Events are built by
simulate's EventLog, the one place that knows esper's event envelope.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from value_diag.producer.simulate import EventLog
from value_diag.schema import VALUE_FIELDS

START: Final = datetime(2026, 11, 25, tzinfo=UTC)
"""When a generated log's run started (the timestamps are reproducible)."""


@dataclass(frozen=True, slots=True)
class Mix:
    """Options of a generated log."""

    bad_every: int = 0
    """Every Nth line is a broken line of ours (0: none)."""
    names_in_strings: bool = False
    """Foreign events quote our names inside message strings."""
    restart_at_end: bool = False
    """A TRAINING_STARTED after the last PPO update."""
    long_line: int = 0
    """Bytes of one huge foreign line in the middle (0: none)."""
    run_headers: int = 0
    """Run headers (``value_diag_run``, what TelemetryWriter writes first) spread through
    the file: the runs of a script started again on the same file (0: none)."""
    ev_only: bool = False
    """Half the PPO updates carry the critic's numbers and no value metrics, as esper-lite
    wrote them in December 2025."""


def _event(log: EventLog, kind: str, epoch: int, data: dict[str, Any], msg: str = "") -> str:
    log.elapsed = epoch * 60.0 + log.rng.random()
    return json.dumps(log.event(kind, epoch, data, msg))


def _ppo(log: EventLog, epoch: int, mix: Mix) -> str:
    rng = log.rng
    data: dict[str, Any] = {f"stat_{i}": rng.random() for i in range(70)}
    data["layer_gradient_health"] = {f"layer{i}": rng.random() for i in range(24)}
    if mix.ev_only:
        data |= {"explained_variance": rng.uniform(-1, 1), "value_mean": rng.gauss(0, 5)}
        if rng.random() < 0.5:
            data["return_mean"] = rng.random()
            return _event(log, "PPO_UPDATE_COMPLETED", epoch, data)
    values = [rng.uniform(-1, 1), rng.gauss(0, 5), rng.uniform(0, 10), rng.uniform(0, 60)]
    values += sorted(rng.uniform(-50, 90) for _ in range(3))
    values += [rng.uniform(0, 300), rng.gauss(0, 1.5)]
    if rng.random() < 0.05:
        values[rng.randrange(len(values))] = float(rng.choice(["nan", "inf", "-inf"]))
    data.update(zip(VALUE_FIELDS, values, strict=True))
    data["return_mean"] = rng.random()
    data["head_stats"] = [rng.random() for _ in range(40)]
    return _event(log, "PPO_UPDATE_COMPLETED", epoch, data)


def _foreign(log: EventLog, epoch: int, mix: Mix) -> str:
    rng = log.rng
    roll = rng.random()
    msg = ""
    if mix.names_in_strings and rng.random() < 0.05:
        msg = rng.choice(["bellman_error", "tamiyo", "PPO_UPDATE_COMPLETED", "compile_mode"])
    if roll < 0.5:
        data: dict[str, Any] = {"env_id": rng.randrange(8), "val_accuracy": rng.uniform(40, 90)}
        data |= {"val_loss": rng.random(), "train_loss": rng.random(), "seeds": None}
        return _event(log, "EPOCH_COMPLETED", epoch, data, msg)
    if roll < 0.78:
        slots = {
            f"r{r}c{c}": {
                "alpha": rng.random(),
                "stage": rng.choice(["TRAINING", "BLENDING"]),
                "grad": [rng.random() for _ in range(7)],
            }
            for r in range(4)
            for c in range(4)
        }
        data = {"kind": "summary", "slots": slots, "nan_rate": float("nan")}
        return _event(log, "ANALYTICS_SNAPSHOT", epoch, data, msg)
    if roll < 0.88:
        data = {"blueprint": rng.choice(["conv_heavy", "attention", "norm"]), "params": 1234}
        data |= {"from_stage": "DORMANT", "to_stage": "GERMINATED", "alpha": rng.random()}
        return _event(log, rng.choice(["SEED_GERMINATED", "SEED_STAGE_CHANGED"]), epoch, data, msg)
    per_env = [
        {
            "env": i,
            "acc": rng.random(),
            "loss": rng.random(),
            "rewards": [round(rng.gauss(0, 1), 4) for _ in range(12)],
        }
        for i in range(8)
    ]
    return _event(log, "BATCH_EPOCH_COMPLETED", epoch, {"envs": per_env}, msg)


def _start(log: EventLog, epoch: int) -> str:
    data = {
        "n_envs": 8,
        "task": "cifar_baseline",
        "compile_enabled": True,
        "compile_backend": "inductor",
        "compile_mode": "reduce-overhead",
        "lr": 3e-4,
    }
    return _event(log, "TRAINING_STARTED", epoch, data, "training started")


def _header(n: int) -> str:
    writer = ("TelemetryWriter", "stable-baselines3")[n % 2]
    header = {"writer": writer, "version": "0", "rules": "scale-free", "started": float(n)}
    return json.dumps({"value_diag_run": header}) + "\n"


BAD_LINES = (
    '{"event_type": "PPO_UPDATE_COMPLETED", "data": {"bellman_error": "high"}}',
    '{"bellman_error": 1.0, "td_error_mean": ',
    '{"tamiyo": [1, 2]}',
    '["compile_enabled", true]',
)


def generate(size: int, seed: int = 1, mix: Mix = Mix()) -> Iterator[bytes]:
    """Lines (with newlines) of about ``size`` bytes in all."""
    rng = random.Random(seed)
    log = EventLog(rng, lambda seconds: START + timedelta(seconds=seconds))
    written = 0
    epoch = 0
    line = _start(log, epoch) + "\n"
    long_at = size // 2 if mix.long_line else -1
    headers_at = [size * (k + 1) // (mix.run_headers + 1) for k in range(mix.run_headers)]
    n = 0
    while written < size:
        yield line.encode()
        written += len(line)
        n += 1
        if headers_at and headers_at[0] <= written:
            headers_at.pop(0)
            yield _header(n).encode()
        if 0 <= long_at <= written:
            long_at = -1
            chunk = b'{"event_type": "BLOB", "data": "' + b"x" * (1 << 20)
            for _ in range(mix.long_line >> 20):
                yield chunk
                chunk = b"x" * (1 << 20)
            yield b'"}\n'
        epoch += rng.random() < 0.05
        if mix.bad_every and n % mix.bad_every == 0:
            line = rng.choice(BAD_LINES)
        elif rng.random() < 0.05:
            line = _ppo(log, epoch, mix)
        else:
            line = _foreign(log, epoch, mix)
        line += "\n"
    if mix.restart_at_end:
        yield (_start(log, epoch) + "\n").encode()


def write(path: Path, size: int, seed: int = 1, mix: Mix = Mix()) -> None:
    """Writes a generated log to ``path``."""
    with path.open("wb", buffering=1 << 20) as f:
        for line in generate(size, seed, mix):
            f.write(line)
