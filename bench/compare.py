"""`--compare` at 1k, 10k and more runs: the table, markdown and sort, in-process, timed.

Builds N runs (a third critical, a third warning, a third ok; names that sort naturally,
seed2 before seed10), then times each way `once --compare` draws them: the fitted terminal
table (a Rich Console of 120 columns writing to nowhere), the unfitted one (a log: every
column), the markdown table and the worst-first order. Prints the median, min and max of
``--repeat`` rounds per size. Asserts nothing.

    python bench/compare.py [--runs 1000 10000] [--repeat 5]
    python bench/compare.py --before OLD_TREE     # OLD_TREE's figures beside this tree's

``--before`` names a checkout of another commit (e.g. `git worktree add /tmp/old HEAD~3`):
the same measurement runs there in a subprocess (PYTHONPATH=OLD_TREE) and both columns
are printed side by side.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from value_diag.frame import Frame

HERE: Final = Path(__file__).resolve().parent

KINDS: Final = (
    (0.9, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1),  # ok
    (0.4, 1.0, 3.0, 4.0, 10.0, 30.0, 50.0, 25.0, 0.1),  # warning: V-Corr
    (0.9, 1.0, 3.0, 80.0, 10.0, 30.0, 50.0, 25.0, 0.1),  # critical: Bellman
)
WAYS: Final = ("fitted", "log", "markdown", "sort")


def frames(n: int) -> list[Frame]:
    """``n`` runs at one moment, their kinds interleaved, each with a step and an age."""
    from value_diag.frame import Frame
    from value_diag.state import FoldState

    now = 1_000_000.0
    return [
        Frame(
            f"sweep/seed{i}/run.jsonl",
            FoldState(values=KINDS[i % 3], records=3, last_update=now - i % 97, step=100 * i),
            at=now,
        )
        for i in range(n)
    ]


def ways(n: int) -> dict[str, Callable[[], object]]:
    """What each way of drawing ``n`` runs does, ready to be timed."""
    from rich.console import Console

    from value_diag.render.compare import compare, sort_worst_first
    from value_diag.render.frames import Renderer
    from value_diag.render.markdown import compare_markdown

    runs = frames(n)
    renderer = Renderer()

    def draw(width: int | None) -> None:
        console = Console(width=width or 400, file=io.StringIO(), color_system=None)
        console.print(compare(runs, renderer, width))

    return {
        "fitted": lambda: draw(120),
        "log": lambda: draw(None),
        "markdown": lambda: compare_markdown(runs),
        "sort": lambda: sort_worst_first(runs),
    }


def measure(sizes: list[int], repeat: int) -> dict[str, dict[str, list[float]]]:
    """Seconds of each round, per size and way."""
    out: dict[str, dict[str, list[float]]] = {}
    for n in sizes:
        out[str(n)] = {}
        for way, work in ways(n).items():
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                work()
                times.append(time.perf_counter() - t0)
            out[str(n)][way] = times
    return out


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):8.3f} ({min(times):.3f}-{max(times):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", help="a checkout of the commit to compare with")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.json:  # the --before subprocess
        print(json.dumps(measure(args.runs, args.repeat)))
        return
    before = None
    if args.before:
        env = {**os.environ, "PYTHONPATH": str(Path(args.before).resolve())}
        cmd = [sys.executable, __file__, "--json", "--repeat", str(args.repeat), "--runs"]
        done = subprocess.run(
            [*cmd, *map(str, args.runs)], env=env, capture_output=True, text=True, check=True
        )
        before = json.loads(done.stdout)
    sys.path.insert(0, str(HERE.parent))
    after = measure(args.runs, args.repeat)
    print(f"seconds, median (min-max) of {args.repeat} rounds")
    head = f"{'runs':>7} {'way':<9}" + (f" {'before':>22}" if before else "") + f" {'after':>22}"
    print(head)
    for n, by_way in after.items():
        for way in WAYS:
            old = f" {summary(before[n][way]):>22}" if before else ""
            print(f"{n:>7} {way:<9}{old} {summary(by_way[way]):>22}")


if __name__ == "__main__":
    main()
