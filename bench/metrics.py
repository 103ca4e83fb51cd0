"""compute_value_metrics on a large rollout: the numpy path and the pure-Python path.

Median and best of several runs per row; prints a table and asserts nothing.

    python bench/metrics.py [--samples 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from value_diag.producer.metrics import compute_value_metrics


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Seconds per call, one call per run after a warm-up call."""
    fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    returns = rng.gamma(2.0, 10.0, size=args.samples) - 15.0
    values = returns + rng.normal(0.0, 6.0, size=args.samples)
    td_errors = rng.normal(1.5, 4.0, size=args.samples)
    arrays = (values, returns, td_errors)
    lists = tuple(a.tolist() for a in arrays)

    rows: list[tuple[str, list[float]]] = [
        ("numpy path, numpy arrays", timed(lambda: compute_value_metrics(*arrays), args.runs)),
        ("numpy path, Python lists", timed(lambda: compute_value_metrics(*lists), args.runs)),
        (
            "pure Python, Python lists",
            timed(lambda: compute_value_metrics(*lists, use_numpy=False), args.runs),
        ),
    ]
    print(
        f"compute_value_metrics: {args.samples:,} samples, {args.runs} runs, numpy {np.__version__}"
    )
    print(f"{'path':28} {'median ms':>10} {'best ms':>10}")
    for name, seconds in rows:
        print(f"{name:28} {statistics.median(seconds) * 1e3:10.1f} {min(seconds) * 1e3:10.1f}")


if __name__ == "__main__":
    main()
