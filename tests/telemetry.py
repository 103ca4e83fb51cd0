"""Test data several test files share: the spec's example, lines as producers write them."""

from __future__ import annotations

import json
import math
from typing import Any

from value_diag.state import Compile

EXAMPLE: dict[str, float] = {
    "v_return_correlation": 0.87,
    "td_error_mean": 2.4,
    "td_error_std": 8.1,
    "bellman_error": 12.3,
    "return_p10": -12.0,
    "return_p50": 34.0,
    "return_p90": 78.0,
    "return_variance": 14.2**2,
    "return_skewness": 0.3,
}
"""The spec's example numbers, in VALUE_FIELDS order."""
EXAMPLE_VALUES: tuple[float, ...] = tuple(EXAMPLE.values())
EXAMPLE_COMPILE = Compile(enabled=True, backend="inductor", mode="reduce-overhead")
EXAMPLE_LINES = [
    "V-Corr    0.87↗     Bellman   12.3",
    "TD Mean   +2.4      TD Std    8.1",
    "Returns   p10:-12    p50:+34    p90:+78 ⚠",
    "Ret σ     14.2!     Skew      +0.3",
    "Compile   inductor:reduce-overhead ✓",
]
"""The panel the spec shows for its example."""

FRAME_KEYS = frozenset(
    {
        "source",
        "name",
        "step",
        "age_s",
        "stale",
        "records",
        "bad_lines",
        "hint",
        "note",
        "last_error",
        "status",
        "value_function",
        "infrastructure",
        "critic",
        "thresholds",
        "rules",
        "gate",
    }
)
"""The keys of a JSON frame (without --trend)."""


def dumps(obj: Any) -> bytes:
    """A line as producers write it: Python's json, bare NaN and Infinity tokens included."""
    return json.dumps(obj).encode()


def flat(fields: dict[str, Any]) -> bytes:
    """A flat metrics line."""
    return dumps({"step": 7, **fields})


OTHER_EVENT = b'{"event": "rollout", "fps": 1834.5, "episodes": 17, "wall_s": 12.75}\n'
"""A line of a trainer's own that names no metric: skipped by the name search, not parsed."""


def sparse_log(size: int, value: bytes, last: bytes, every: int = 64) -> bytes:
    """About ``size`` bytes of a trainer's log, then ``last``: lines that name no metric,
    and ``value`` as every ``every``-th line. A reader carries as many bytes as through a
    log of value lines alone, but folds one line in ``every``, a fraction of the CPU."""
    block = OTHER_EVENT * (every - 1) + value
    return block * (size // len(block)) + last


def ppo(fields: dict[str, Any]) -> bytes:
    """An esper PPO_UPDATE_COMPLETED event carrying ``fields`` among its own."""
    return dumps({"event_type": "PPO_UPDATE_COMPLETED", "data": {"policy_loss": 0.1, **fields}})


def snapshot(vf: dict[str, Any] | None = None, infra: dict[str, Any] | None = None) -> bytes:
    """A snapshot line: tamiyo with the parts given."""
    tamiyo: dict[str, Any] = {}
    if vf is not None:
        tamiyo["value_function"] = vf
    if infra is not None:
        tamiyo["infrastructure"] = infra
    return dumps({"step": 3, "tamiyo": tamiyo})


def json_value(x: float) -> float | str:
    """How the JSON output spells a number: non-finite ones as strings."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


COLLAPSE_CULPRITS = "V-Corr, Bellman, TD Mean, TD Std, Ret σ, Skew, p90-p10"
"""What sample_logs/collapse.jsonl alarms on: critical first, then the warnings, in panel order."""


TIMED = ("age_s", "note")
"""The keys of a JSON frame that depend on when it was made, not on the file: the age of the
last record, and the note of what happened to the file in the last seconds (a watch saw
it truncated or replaced; once reads the file as it is)."""


def timeless(frame: dict[str, Any]) -> dict[str, Any]:
    """A JSON frame without the keys that depend on the moment it was made."""
    return {k: v for k, v in frame.items() if k not in TIMED}


NINE: tuple[str, ...] = (
    "v_return_correlation",
    "td_error_mean",
    "td_error_std",
    "bellman_error",
    "return_p10",
    "return_p50",
    "return_p90",
    "return_variance",
    "return_skewness",
)
"""The spec's nine value-function fields (written out here, not imported from the product)."""


def metrics(**overrides: float) -> dict[str, float]:
    """A healthy flat metric line (every level ok/info), with some fields replaced."""
    row = {
        "v_return_correlation": 0.9,
        "td_error_mean": 1.0,
        "td_error_std": 2.0,
        "bellman_error": 7.0,
        "return_p10": 5.0,
        "return_p50": 20.0,
        "return_p90": 40.0,
        "return_variance": 64.0,
        "return_skewness": 0.2,
    }
    row.update(overrides)
    return row


COMPILE_LINE: dict[str, Any] = {
    "compile_enabled": True,
    "compile_backend": "inductor",
    "compile_mode": "default",
}
HEALTHY: dict[str, Any] = {
    "v_return_correlation": 0.9,
    "td_error_mean": 1.0,
    "td_error_std": 2.0,
    "bellman_error": 3.0,
    "return_p10": 1.0,
    "return_p50": 5.0,
    "return_p90": 10.0,
    "return_variance": 20.0,
    "return_skewness": 0.1,
}
"""Nine metrics all in their healthy range: status ok (warning/critical via bellman_error)."""


def line(obj: dict[str, Any]) -> str:
    """One telemetry line, with its newline."""
    return json.dumps(obj) + "\n"


def healthy(bellman: float, **extra: Any) -> str:
    """A flat line with healthy metrics and the given Bellman error."""
    return line({**HEALTHY, "bellman_error": bellman, **extra})
