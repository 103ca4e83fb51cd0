"""The test suite's time beside an older tree's, run in turns on this machine.

Each round runs ``python -m pytest -q`` in this tree (with this Python), then in the older
tree (with its own venv's Python), and records each run's wall time and CPU: user + system
of pytest and every process it waited for. Rounds alternate the two, so a machine that
slows down for a while (other guests on the host) slows both alike. Prints each run, then
the medians and their ratio; asserts nothing.

    python bench/suite.py --before OLD_TREE --before-python PYTHON [--python PYTHON]
                          [--runs 2] [-- ARGS]

ARGS go to both pytest runs. OLD_TREE is a checkout of the older commit, e.g. the suite of
2,292 tests that ran in one process::

    git worktree add /tmp/old 894a3ab
    python3 -m venv /tmp/old/.venv && /tmp/old/.venv/bin/pip install -e '/tmp/old[test]'
    python bench/suite.py --before /tmp/old --before-python /tmp/old/.venv/bin/python

Byte code is written as usual (PYTHONDONTWRITEBYTECODE is dropped), OMP_NUM_THREADS=1,
and SIGINT and SIGQUIT reach the suites at their defaults, as from a terminal.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parent
SUMMARY = re.compile(rb"^=*\s*(\d+ (?:passed|failed).*) in [\d.]+s", re.MULTILINE)
FAILURE = re.compile(rb"^(?:FAILED|ERROR) .*$", re.MULTILINE)
PASSED = re.compile(r"\d+ passed(, \d+ (?:skipped|deselected|xfailed|xpassed|warnings?))*$")
"""A summary of a run in which nothing failed and nothing erred."""


@dataclass(frozen=True)
class Run:
    """One run of a suite: wall and CPU seconds, pytest's summary line, and its short
    summary's lines of the tests that failed or erred (``-ra``: "FAILED id - why")."""

    wall: float
    cpu: float
    summary: str
    failures: tuple[str, ...] = ()


def _as_from_a_terminal() -> None:
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(tree: Path, python: str, args: list[str]) -> Run:
    """``python -m pytest -q ARGS`` in ``tree``, its output kept to read the summary."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["OMP_NUM_THREADS"] = "1"
    cpu, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(
        [python, "-m", "pytest", "-q", *args],
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_as_from_a_terminal,  # this process runs no other thread
        check=False,
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu
    found = SUMMARY.findall(proc.stdout)
    summary = found[-1].decode() if found else f"no summary (exit {proc.returncode})"
    failures = tuple(line.decode(errors="replace") for line in FAILURE.findall(proc.stdout))
    return Run(wall, cpu, summary, failures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="this tree's Python")
    parser.add_argument("--before", type=Path, required=True, help="the older tree")
    parser.add_argument("--before-python", required=True, help="the older tree's Python")
    parser.add_argument("--runs", type=int, default=2, help="rounds (each runs both)")
    parser.add_argument("pytest_args", nargs="*", help="after --: given to both suites")
    opts = parser.parse_args()
    suites = {"this tree": (TREE, opts.python), "before": (opts.before, opts.before_python)}
    runs: dict[str, list[Run]] = {name: [] for name in suites}
    for round_ in range(1, opts.runs + 1):
        for name, (tree, python) in suites.items():
            run = run_suite(tree, python, opts.pytest_args)
            runs[name].append(run)
            print(
                f"round {round_}  {name:<9}  {run.wall:6.1f} s  CPU {run.cpu:6.1f} s  "
                f"{run.summary}",
                flush=True,
            )
            for line in run.failures:
                print(f"  {line}", flush=True)
    walls = {name: statistics.median(r.wall for r in rs) for name, rs in runs.items()}
    cpus = {name: statistics.median(r.cpu for r in rs) for name, rs in runs.items()}
    for name in suites:
        print(f"median     {name:<9}  {walls[name]:6.1f} s  CPU {cpus[name]:6.1f} s")
    ratio = walls["this tree"] / walls["before"]
    print(f"this tree / before: {ratio:.2f}x the wall time")
    failing = [r.summary for rs in runs.values() for r in rs if not PASSED.match(r.summary)]
    if failing:  # a failure may have waited out a timeout: its time says little
        print(f"not comparable: {len(failing)} run(s) did not pass, e.g. {failing[0]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
