"""Two builds of value-diag side by side: `once`, `watch`'s first frame and start-up, interleaved.

Each build is a venv (a directory with bin/value-diag, e.g. a `pip install .` of a commit) or
its value-diag console script. Every measurement runs the two builds in turns, the first one
alternating from round to round (A B, B A, A B, ...), so that drift on a shared machine hits
both alike. Prints the median, min and max of wall and CPU seconds (user + system, with the
reading processes), the ratio of the medians (B / A) and the max RSS. Asserts nothing.

    python bench/before_after.py VENV_A VENV_B --log BIG.jsonl [--runs 7] [--startup-runs 31]

The big log is written first if missing (bench/esper_log.py's generator, seed 1, --size).
Start-up is `once` on a small file into a pipe, with byte code cached in a temporary
PYTHONPYCACHEPREFIX as in bench/scale.py, beside a minimal Typer app run by build A's python.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.procs import CLK_TCK, peak_rss_kb  # noqa: E402
from bench.scale import MINIMAL_TYPER  # noqa: E402

Sample = tuple[float, int, float]  # wall seconds, max RSS KB, CPU seconds (user + system)


def console_script(build: str) -> Path:
    """The value-diag script of a venv directory, or the given script itself."""
    path = Path(build)
    return path / "bin" / "value-diag" if path.is_dir() else path


def timed(cmd: list[str], env: dict[str, str] | None = None) -> Sample:
    """Wall seconds, max RSS and CPU seconds (GNU time: the command's own and those of the
    processes it waited for) of one command, its output read through a pipe.

    Exit codes 0 and 1 (--fail-on reached) are both normal here; any other is an error.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", *cmd], capture_output=True, check=False, env=env
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    rss, user, system = proc.stderr.decode().strip().splitlines()[-1].split()
    return elapsed, int(rss), float(user) + float(system)


def first_frame(script: Path, log: Path) -> Sample:
    """Seconds from start to `watch --format json`'s first frame, and its peak RSS and CPU
    seconds (its own and its reaped children's, /proc/PID/stat) by then."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(script), "watch", "--format", "json", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    rss = peak_rss_kb(proc.pid)
    ticks = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:15]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    if not line:
        raise SystemExit(f"{script} watch {log}: no frame")
    return elapsed, rss, sum(int(t) for t in ticks) / CLK_TCK


def in_turns(runners: list[Callable[[], Sample]], runs: int) -> list[list[Sample]]:
    """Each runner ``runs`` times, in turns; the first of a round alternates between rounds."""
    samples: list[list[Sample]] = [[] for _ in runners]
    order = list(range(len(runners)))
    for r in range(runs):
        turn = order if r % 2 == 0 else order[::-1]
        for i in turn:
            samples[i].append(runners[i]())
    return samples


def row(name: str, samples: list[list[Sample]], cpu: bool = True) -> str:
    """Name, then median [min-max] wall seconds of each build, the ratio of the medians and
    max RSS (MB); below it (``cpu``) the same for CPU seconds."""
    rss = " / ".join(f"{max(x[1] for x in s) / 1024:.0f}" for s in samples)
    lines = [_cells(name, [[x[0] for x in s] for s in samples]) + f"   {rss}"]
    if cpu:
        lines.append(_cells("  CPU s", [[x[2] for x in s] for s in samples]))
    return "\n".join(lines)


def _cells(name: str, figures: list[list[float]]) -> str:
    medians = [statistics.median(f) for f in figures]
    cells = [f"{m:7.3f} [{min(f):.3f}-{max(f):.3f}]" for m, f in zip(medians, figures, strict=True)]
    if len(cells) == 1:
        cells.append(" " * len(cells[0]))
    ratio = f"{medians[1] / medians[0]:6.3f}" if len(medians) > 1 else " " * 6
    return f"{name:34} {'   '.join(cells)}   {ratio}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="build A: a venv directory or its value-diag script")
    ap.add_argument("b", help="build B: a venv directory or its value-diag script")
    ap.add_argument("--log", type=Path, default=HERE / "data" / "esper-1G.jsonl")
    ap.add_argument("--size", default="1G", help="size of the log when it is written")
    ap.add_argument("--small", type=Path, default=HERE.parent / "sample_logs" / "healthy.jsonl")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--startup-runs", type=int, default=31)
    ap.add_argument("--skip-watch", action="store_true")
    args = ap.parse_args()
    scripts = [console_script(args.a), console_script(args.b)]
    for s in scripts:
        if not s.exists():
            raise SystemExit(f"no value-diag script at {s}")
    if not args.log.exists():
        from bench.esper_log import Mix, parse_size, write

        print(f"writing {args.log} ...", file=sys.stderr)
        args.log.parent.mkdir(parents=True, exist_ok=True)
        write(args.log, parse_size(args.size), seed=1, mix=Mix())
    subprocess.run(["cat", str(args.log)], stdout=subprocess.DEVNULL, check=True)  # page cache
    big = str(args.log)
    env: dict[str, str] = {}  # start-up's environment, filled below

    def once(script: Path, *extra: str) -> Callable[[], Sample]:
        return lambda: timed([str(script), "once", big, *extra])

    def watch(script: Path) -> Callable[[], Sample]:
        return lambda: first_frame(script, args.log)

    def small(script: Path) -> Callable[[], Sample]:
        return lambda: timed([str(script), "once", str(args.small)], env)

    gib = args.log.stat().st_size / (1 << 30)
    print(f"A = {scripts[0]}\nB = {scripts[1]}")
    print(f"{'median [min-max] s':34} {'A':>23}   {'B':>23}   {'B / A':>6}   max RSS MB A / B")
    lines = [
        row(f"once, {gib:.1f} GiB", in_turns([once(s) for s in scripts], args.runs)),
        row(
            f"once --fail-on critical, {gib:.1f} GiB",
            in_turns([once(s, "--fail-on", "critical") for s in scripts], args.runs),
        ),
    ]
    print(*lines, sep="\n", flush=True)
    if not args.skip_watch:
        firsts = in_turns([watch(s) for s in scripts], args.runs)
        print(row(f"watch, first frame of {gib:.1f} GiB", firsts), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        mini = Path(tmp) / "mini.py"
        mini.write_text(MINIMAL_TYPER)
        env.update({k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        python_a = scripts[0].parent / "python"
        runners: list[Callable[[], Sample]] = [
            *(small(s) for s in scripts),
            lambda: timed([str(python_a), str(mini), "x"], env),
        ]
        in_turns(runners, 1)  # compile and cache the byte code
        starts = in_turns(runners, args.startup_runs)
    print(row(f"once {args.small.name} (start-up)", starts[:2]))
    print(row("  minimal Typer app (A's python)", starts[2:], cpu=False))
    typer = statistics.median(x[0] for x in starts[2])
    ratios = [statistics.median(x[0] for x in s) / typer for s in starts[:2]]
    print(f"start-up / minimal Typer: A {ratios[0]:.2f}x, B {ratios[1]:.2f}x (target <= 1.15)")


if __name__ == "__main__":
    main()
