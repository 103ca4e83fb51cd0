"""The live table's redraws at a sweep's size, in-process: CPU per redraw for the age and
per redraw after one run's new frame.

A LiveSink on a 120x30 console in memory is given --files runs (each a frame with one record,
written at the same moment, or with --spread SECONDS at moments spread evenly over that long
before, as runs started one after another), then --redraws times: a redraw for the age (the
same frames, the clock a second on) and a redraw after one run got a new frame. Each figure
is the median CPU time (time.process_time) of those redraws. A build other than the
installed one is measured with ``--build DIR`` (a checkout, e.g. a ``git worktree`` of an
earlier commit), each build in a process of its own, the builds in turns. Asserts nothing.

    python bench/redraw.py [--files 5000] [--spread 0] [--build DIR ...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def child(build: str | None, files: int, redraws: int, spread: float) -> dict[str, float]:
    """The medians of one build, in this process: ms of CPU per tick and per change."""
    if build:
        sys.path.insert(0, build)
    from rich.console import Console

    from value_diag.frame import Frame
    from value_diag.render.frames import Renderer
    from value_diag.state import FoldState
    from value_diag.tui.live import LiveSink

    def frame(i: int, written: float) -> Frame:
        state = FoldState(records=1, last_update=written)
        return Frame(f"runs/seed{i:04d}/run.jsonl", state, None, at=written)

    console = Console(file=io.StringIO(), width=120, height=30, force_terminal=True)
    clock = [0.0]
    sink = LiveSink(console, Renderer(), False, lambda: clock[0])
    sink.__enter__()
    try:
        frames = [frame(i, -spread * i / files) for i in range(files)]
        sink.tick(frames, 10.0)
        ticks, changes = [], []
        for k in range(redraws):
            clock[0] += 1.0  # past the frame-rate cap: each is drawn at once
            t0 = time.process_time()
            sink.tick(list(frames), 11.0 + k)
            ticks.append(time.process_time() - t0)
            clock[0] += 1.0
            frames = [*frames[:-1], frame(files - 1, 5.0 + k)]
            t0 = time.process_time()
            sink.show(frames, [files - 1], 11.5 + k)
            changes.append(time.process_time() - t0)
    finally:
        sink.__exit__(None, None, None)
    return {
        "tick_ms": statistics.median(ticks) * 1000,
        "change_ms": statistics.median(changes) * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=5000, help="runs in the table")
    ap.add_argument("--spread", type=float, default=0.0, help="seconds the runs' times span")
    ap.add_argument("--build", nargs="*", default=[], help="checkouts to measure")
    ap.add_argument("--redraws", type=int, default=10, help="redraws of each kind per round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per build (medians)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child or None, args.files, args.redraws, args.spread)))
        return
    builds: list[str] = list(args.build) or [""]
    found: dict[str, list[dict[str, float]]] = {b or "installed": [] for b in builds}
    for _ in range(args.rounds):  # the builds in turns, sharing the machine's load
        for b in builds:
            out = subprocess.run(
                [sys.executable, str(HERE), "--child", b, "--files", str(args.files),
                 "--redraws", str(args.redraws), "--spread", str(args.spread)],
                capture_output=True, check=True, text=True,
            )  # fmt: skip
            found[b or "installed"].append(json.loads(out.stdout.splitlines()[-1]))
    medians = {
        name: {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        for name, rounds in found.items()
    }
    if args.json:
        print(json.dumps(medians))
        return
    print(f"{'build':24} {'runs':>5} {'tick ms':>8} {'change ms':>10}   (CPU per redraw)")
    for name, m in medians.items():
        print(f"{name[-24:]:24} {args.files:>5} {m['tick_ms']:>8.1f} {m['change_ms']:>10.1f}")


if __name__ == "__main__":
    main()
