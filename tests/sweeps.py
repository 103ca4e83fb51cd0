"""A small sweep on disk that the --compare and --fail-count tests share: four seeds, two of
them critical."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from telemetry import metrics

COMPILE_LINE: Final = json.dumps(
    {"compile_enabled": True, "compile_backend": "inductor", "compile_mode": "reduce-overhead"}
)
SWEEP: Final = {
    "seed-0": metrics(),
    "seed-1": metrics(bellman_error=80.0),  # critical
    "seed-2": metrics(return_skewness=2.5),  # critical, through Skew alone
    "seed-3": metrics(),
}
RUNS: Final = [f"runs/{seed}/run.jsonl" for seed in SWEEP]
NAMES: Final = list(SWEEP)
"""How the runs are shown: the directory and file name they share left out."""


def sweep(root: Path) -> list[str]:
    """Four seeds under ``root``/runs, two of them critical; their relative paths."""
    for seed, row in SWEEP.items():
        run = root / "runs" / seed / "run.jsonl"
        run.parent.mkdir(parents=True)
        run.write_text(COMPILE_LINE + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    return RUNS
