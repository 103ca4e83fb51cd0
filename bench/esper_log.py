"""Esper-style telemetry logs of any size, for benchmarks and the fast-path tests.

A realistic mix: TRAINING_STARTED on line 1, then EPOCH_COMPLETED, ANALYTICS_SNAPSHOT,
SEED_* and BATCH_EPOCH_COMPLETED events with roughly one PPO_UPDATE_COMPLETED in twenty
(about 4.4 KB each), 1.6 KB per line on average, bare NaN/Infinity tokens in places.

    python bench/esper_log.py OUT.jsonl --size 1G [--seed 1] [--bad 0] [--long-line 0]
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from value_diag.schema import VALUE_FIELDS


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


def _event(rng: random.Random, kind: str, epoch: int, data: dict[str, Any], msg: str = "") -> str:
    return json.dumps(
        {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "event_type": kind,
            "timestamp": f"2026-11-25T{epoch // 3600 % 24:02d}:{epoch // 60 % 60:02d}:"
            f"{epoch % 60:02d}.{rng.randrange(10**6):06d}+00:00",
            "seed_id": None,
            "slot_id": None,
            "epoch": epoch,
            "group_id": "default",
            "message": msg,
            "data": data,
            "severity": "info",
        }
    )


def _ppo(rng: random.Random, epoch: int) -> str:
    data: dict[str, Any] = {f"stat_{i}": rng.random() for i in range(70)}
    data["layer_gradient_health"] = {f"layer{i}": rng.random() for i in range(24)}
    values = [rng.uniform(-1, 1), rng.gauss(0, 5), rng.uniform(0, 10), rng.uniform(0, 60)]
    values += sorted(rng.uniform(-50, 90) for _ in range(3))
    values += [rng.uniform(0, 300), rng.gauss(0, 1.5)]
    if rng.random() < 0.05:
        values[rng.randrange(len(values))] = float(rng.choice(["nan", "inf", "-inf"]))
    data.update(zip(VALUE_FIELDS, values, strict=True))
    data["return_mean"] = rng.random()
    data["head_stats"] = [rng.random() for _ in range(40)]
    return _event(rng, "PPO_UPDATE_COMPLETED", epoch, data)


def _foreign(rng: random.Random, epoch: int, mix: Mix) -> str:
    roll = rng.random()
    msg = ""
    if mix.names_in_strings and rng.random() < 0.02:
        msg = rng.choice(["bellman_error", "tamiyo", "PPO_UPDATE_COMPLETED", "compile_mode"])
    if roll < 0.5:
        data: dict[str, Any] = {"env_id": rng.randrange(8), "val_accuracy": rng.uniform(40, 90)}
        data |= {"val_loss": rng.random(), "train_loss": rng.random(), "seeds": None}
        return _event(rng, "EPOCH_COMPLETED", epoch, data, msg)
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
        return _event(rng, "ANALYTICS_SNAPSHOT", epoch, data, msg)
    if roll < 0.88:
        data = {"blueprint": rng.choice(["conv_heavy", "attention", "norm"]), "params": 1234}
        data |= {"from_stage": "DORMANT", "to_stage": "GERMINATED", "alpha": rng.random()}
        return _event(rng, rng.choice(["SEED_GERMINATED", "SEED_STAGE_CHANGED"]), epoch, data, msg)
    per_env = [
        {
            "env": i,
            "acc": rng.random(),
            "loss": rng.random(),
            "rewards": [round(rng.gauss(0, 1), 4) for _ in range(12)],
        }
        for i in range(8)
    ]
    return _event(rng, "BATCH_EPOCH_COMPLETED", epoch, {"envs": per_env}, msg)


def _start(rng: random.Random, epoch: int) -> str:
    data = {
        "n_envs": 8,
        "task": "cifar_baseline",
        "compile_enabled": True,
        "compile_backend": "inductor",
        "compile_mode": "reduce-overhead",
        "lr": 3e-4,
    }
    return _event(rng, "TRAINING_STARTED", epoch, data, "training started")


BAD_LINES = (
    '{"event_type": "PPO_UPDATE_COMPLETED", "data": {"bellman_error": "high"}}',
    '{"bellman_error": 1.0, "td_error_mean": ',
    '{"tamiyo": [1, 2]}',
    '["compile_enabled", true]',
)


def generate(size: int, seed: int = 1, mix: Mix = Mix()) -> Iterator[bytes]:
    """Lines (with newlines) of about ``size`` bytes in all."""
    rng = random.Random(seed)
    written = 0
    epoch = 0
    line = _start(rng, epoch) + "\n"
    long_at = size // 2 if mix.long_line else -1
    n = 0
    while written < size:
        yield line.encode()
        written += len(line)
        n += 1
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
            line = _ppo(rng, epoch)
        else:
            line = _foreign(rng, epoch, mix)
        line += "\n"
    if mix.restart_at_end:
        yield (_start(rng, epoch) + "\n").encode()


def parse_size(text: str) -> int:
    """'1G', '300M', '64K' or a byte count."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def write(path: Path, size: int, seed: int = 1, mix: Mix = Mix()) -> None:
    """Writes a generated log to ``path``."""
    with path.open("wb", buffering=1 << 20) as f:
        for line in generate(size, seed, mix):
            f.write(line)


def main() -> None:
    ap = argparse.ArgumentParser(description="Write an esper-style telemetry log.")
    ap.add_argument("out", type=Path)
    ap.add_argument("--size", default="64M", help="approximate size: 1G, 300M, 64K")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bad-every", type=int, default=0)
    ap.add_argument("--names-in-strings", action="store_true")
    ap.add_argument("--restart-at-end", action="store_true")
    ap.add_argument("--long-line", default="0", help="size of one huge foreign line")
    args = ap.parse_args()
    mix = Mix(
        args.bad_every, args.names_in_strings, args.restart_at_end, parse_size(args.long_line)
    )
    write(args.out, parse_size(args.size), args.seed, mix)


if __name__ == "__main__":
    main()
