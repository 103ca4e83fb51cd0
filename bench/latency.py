"""Watch latency and idle CPU: from an append being flushed to its frame on stdout.

Baseline in the same run: `tail -F` on the same kind of file (how long until the
appended line comes out of tail). Prints a table; asserts nothing.

    python bench/latency.py [--appends 300] [--idle 10]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import cpu_seconds, read_lines, value_diag


def measure(
    cmd: list[str], path: Path, appends: int, idle: float, wait_ready: bool
) -> dict[str, float]:
    """Latencies (ms) of `appends` single-line appends, and CPU % over `idle` quiet seconds."""
    path.write_text('{"bellman_error": 0.5}\n')
    proc = subprocess.Popen([*cmd, str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines: queue.Queue[tuple[float, bytes]] = queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        if wait_ready:
            lines.get(timeout=30)
        time.sleep(0.5)
        while not lines.empty():
            lines.get_nowait()
        delays = []
        with path.open("a") as f:
            for i in range(appends):
                token = f"{i + 1}.25"
                f.write(f'{{"bellman_error": {token}}}\n')
                f.flush()
                t0 = time.perf_counter()
                while True:
                    t1, line = lines.get(timeout=10)
                    if token.encode() in line:
                        break
                delays.append((t1 - t0) * 1000)
                time.sleep(0.02)
        time.sleep(1.0)
        cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        time.sleep(idle)
        cpu = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - t0) * 100
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    delays.sort()
    return {
        "p50": statistics.median(delays),
        "p95": delays[int(len(delays) * 0.95) - 1],
        "max": delays[-1],
        "idle_cpu": cpu,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=300)
    ap.add_argument("--idle", type=float, default=10.0)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.jsonl"
        rows.append(
            (
                "value-diag watch --format json",
                measure(
                    [*value_diag(), "watch", "--format", "json"],
                    path,
                    args.appends,
                    args.idle,
                    True,
                ),
            )
        )
        rows.append(
            (
                "value-diag watch --poll 0.05",
                measure(
                    [*value_diag(), "watch", "--format", "json", "--poll", "0.05"],
                    path,
                    args.appends // 3,
                    args.idle,
                    True,
                ),
            )
        )
        rows.append(
            (
                "tail -F (baseline)",
                measure(["tail", "-n", "0", "-F"], path, args.appends, args.idle, False),
            )
        )
    print(f"{'command':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'idle CPU %':>11}")
    for name, r in rows:
        print(f"{name:34} {r['p50']:8.1f} {r['p95']:8.1f} {r['max']:8.1f} {r['idle_cpu']:11.2f}")


if __name__ == "__main__":
    main()
