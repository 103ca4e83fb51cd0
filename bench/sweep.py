"""Sweeps: `watch` following 256 run files beside one run, and 256 logs' first frames beside `once`.

Measured in one invocation, so that each figure shares the machine's load with its baseline:

1. Following. `value-diag watch --format json` on --files run files
   (runs/seedNNN/run.jsonl, given as explicit paths), each appended one line every
   --interval seconds as TelemetryWriter writes it, the appends spread evenly (256 files
   every 2 s: 128 lines/s), for --seconds. Then the same for one run file appended
   --one-rate times a second: at one line every 2 s a single file gives too few lines for
   a CPU figure or a p95. For each: CPU per appended line (utime + stime from /proc over
   the appending and a short drain, divided by the lines), write->frame latency (from the
   write of a line to the first JSON frame of its "source" whose "step" reaches it), max
   RSS (VmHWM) and idle CPU (over --quiet seconds with nothing appended, afterwards).
2. First frame. `watch --format json` on --files existing 4 MiB esper-style logs, from its
   start until it has printed a frame of each, beside `once --format json` on the same
   files: the median of --runs runs of each, taken in turns after one checked run of each.
   The logs are generated once into --cache (about a minute) and kept there.

3. The live view (``--live``, bench/live.py): `watch` on a 120x30 pty at 40 and 256 runs,
   key to screen p50/p95, idle CPU and bytes a second to the terminal, the build of the
   venv beside any other checkout given with ``--build DIR``.

Prints a table beside the targets of issue 14 (--json: the figures as JSON); asserts nothing.
Measures the value-diag of the running interpreter's venv.

    python bench/sweep.py [--seconds 30] [--files 256] [--runs 9] [--rounds 1] [--json]
    python bench/sweep.py --live [--files 40 256] [--build DIR ...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.esper_log import Mix, write  # noqa: E402
from bench.procs import Watched, cpu_seconds, peak_rss_kb, read_lines, unwind, value_diag, watching  # noqa: E402
from bench.scale import run  # noqa: E402
from value_diag.producer.simulate import Scenario, metric_series  # noqa: E402
from value_diag.producer.writer import TelemetryWriter  # noqa: E402
from value_diag.schema import ValueFunctionMetrics  # noqa: E402

LOG_SIZE = 4 << 20
"""Bytes of each existing log of the first-frame measurement."""
CACHE = Path(tempfile.gettempdir()) / "value-diag-sweep-logs"
SETTLE_S = 1.0
"""Quiet seconds after the first frames, and before the idle window."""
DRAIN_S = 0.5
"""Seconds after the last append still counted in the CPU per line (its frame is drawn)."""
FIRST_LINES = 3
"""Lines of each run file before watch starts (after the compile status)."""
Arrival = tuple[float, bytes]
"""A line of watch's stdout and when it arrived (time.perf_counter)."""
Key = tuple[str, int]
"""A line appended: its run file (the frame's "source") and its step."""


@dataclass(frozen=True, slots=True)
class Following:
    """Figures of one watch following run files."""

    files: int
    lines_per_s: float
    lines: int
    cpu_per_line_ms: float
    """CPU (user + system) over the appending and DRAIN_S after, per appended line."""
    cpu_per_line_net_ms: float
    """The same without the idle CPU of those seconds."""
    idle_cpu_pct: float
    """CPU seconds per wall second while nothing was appended, in % of one core."""
    p50_ms: float
    p95_ms: float
    max_ms: float
    lost: int
    """Lines no frame of their run reached."""
    rss_mb: float
    """Peak resident memory (VmHWM)."""


@dataclass(frozen=True, slots=True)
class FirstFrame:
    """Median seconds to the first frame of every log, watch beside once."""

    watch_s: float
    once_s: float
    watch_rss_mb: float
    once_rss_mb: float
    runs: int


class Watch(Watched):
    """A running `value-diag watch --format json`, its stdout lines timed as they arrive."""

    def __init__(self, paths: Sequence[str], cwd: Path, err: IO[bytes]) -> None:
        super().__init__(["--format", "json", *paths], err, cwd=cwd)
        self.frames: queue.Queue[Arrival] = queue.Queue()
        self.read(lambda stdout: read_lines(stdout, self.frames))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def take(self, n: int, timeout: float) -> list[Arrival]:
        """The next ``n`` lines. Raises RuntimeError if watch ends or is slower than ``timeout``."""
        got: list[Arrival] = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            try:
                got.append(self.frames.get(timeout=0.2))
            except queue.Empty:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise self.failure(f"{len(got)} of {n} frames") from None
        return got

    def drain(self) -> list[Arrival]:
        """The lines arrived so far and not taken yet."""
        got: list[Arrival] = []
        with contextlib.suppress(queue.Empty):
            while True:
                got.append(self.frames.get_nowait())
        return got

    def alive(self) -> None:
        """Raises RuntimeError if watch has ended."""
        if self.proc.poll() is not None:
            raise self.failure("watch ended")


def watching_paths(paths: Sequence[str], cwd: Path) -> contextlib.AbstractContextManager[Watch]:
    """A Watch of ``paths`` (relative to ``cwd``), stopped however the block ends."""
    return watching(lambda err: Watch(paths, cwd, err))


class Appender:
    """Run files a training loop would write: TelemetryWriter lines on a schedule."""

    def __init__(
        self, root: Path, names: Sequence[str], metrics: Sequence[ValueFunctionMetrics]
    ) -> None:
        self.names = list(names)
        self.metrics = metrics
        self.writers: list[TelemetryWriter] = []
        for name in self.names:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            writer = TelemetryWriter(root / name, truncate=True)
            self.writers.append(writer)
            writer.set_compile(True, "inductor", "reduce-overhead")
            for step in range(FIRST_LINES):
                writer.log(metrics[step % len(metrics)], step=step)
        self.steps = [FIRST_LINES] * len(self.names)

    def append(self, interval: float, seconds: float) -> dict[Key, float]:
        """One line per file every ``interval`` s, file i at i/n of it, for ``seconds``.

        Returns when each line was written (time.perf_counter), by run file and step.
        """
        n = len(self.names)
        written: dict[Key, float] = {}
        t0 = time.perf_counter()
        for k in range(math.ceil(seconds / interval)):
            for i, writer in enumerate(self.writers):
                due = (k + i / n) * interval
                if due >= seconds:
                    return written
                delay = t0 + due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                step = self.steps[i]
                self.steps[i] += 1
                writer.log(self.metrics[step % len(self.metrics)], step=step)
                written[(self.names[i], step)] = time.perf_counter()
        return written

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (NaN for none)."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


def delays(written: dict[Key, float], frames: Sequence[Arrival]) -> tuple[list[float], int]:
    """Milliseconds from each line's write to the first frame of its run at its step or later
    (two lines read in one pass share a frame), sorted; and how many lines no frame reached."""
    by_source: dict[str, list[tuple[float, int]]] = {}
    for t, line in frames:
        with contextlib.suppress(ValueError):
            frame = json.loads(line)
            if isinstance(frame.get("step"), int):
                by_source.setdefault(frame["source"], []).append((t, frame["step"]))
    out: list[float] = []
    lost = 0
    per_source: dict[str, list[tuple[int, float]]] = {}
    for (source, step), t in written.items():
        per_source.setdefault(source, []).append((step, t))
    for source, lines in per_source.items():
        seen = by_source.get(source, [])
        j = 0
        for step, t in sorted(lines):
            while j < len(seen) and seen[j][1] < step:
                j += 1
            if j == len(seen):
                lost += 1
            else:
                out.append((seen[j][0] - t) * 1000)
    return sorted(out), lost


def follow(
    files: int,
    interval: float,
    seconds: float,
    quiet: float,
    metrics: Sequence[ValueFunctionMetrics],
) -> Following:
    """One watch following ``files`` run files, each appended a line every ``interval`` s."""
    names = [f"runs/seed{i:03d}/run.jsonl" for i in range(files)]
    with tempfile.TemporaryDirectory(prefix="value-diag-sweep-") as tmp:
        root = Path(tmp)
        appender = Appender(root, names, metrics)
        try:
            with watching_paths(names, root) as watch:
                watch.take(files, timeout=60)  # the first frame of each file
                time.sleep(SETTLE_S)
                watch.drain()
                cpu0, t0 = cpu_seconds(watch.pid), time.perf_counter()
                written = appender.append(interval, seconds)
                time.sleep(DRAIN_S)
                cpu1, t1 = cpu_seconds(watch.pid), time.perf_counter()
                time.sleep(SETTLE_S)
                idle0, q0 = cpu_seconds(watch.pid), time.perf_counter()
                time.sleep(quiet)
                idle = (cpu_seconds(watch.pid) - idle0) / (time.perf_counter() - q0)
                rss_mb = peak_rss_kb(watch.pid) / 1024
                watch.alive()
                frames = watch.drain()
        finally:
            appender.close()
    ms, lost = delays(written, frames)
    lines = len(written)
    busy = cpu1 - cpu0
    return Following(
        files=files,
        lines_per_s=files / interval,
        lines=lines,
        cpu_per_line_ms=busy / lines * 1000,
        cpu_per_line_net_ms=(busy - idle * (t1 - t0)) / lines * 1000,
        idle_cpu_pct=idle * 100,
        p50_ms=percentile(ms, 50),
        p95_ms=percentile(ms, 95),
        max_ms=ms[-1] if ms else math.nan,
        lost=lost,
        rss_mb=rss_mb,
    )


def ensure_logs(cache: Path, files: int) -> list[Path]:
    """``files`` esper-style logs of LOG_SIZE in ``cache`` (written if missing), page-cached."""
    paths = [cache / "runs" / f"seed{i:03d}" / "run.jsonl" for i in range(files)]
    missing = [(i, p) for i, p in enumerate(paths) if not p.exists()]
    if missing:
        print(f"writing {len(missing)} logs of 4 MiB into {cache} ...", file=sys.stderr)
    for i, path in missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        write(part, LOG_SIZE, seed=i + 1, mix=Mix())
        part.replace(path)
    subprocess.run(["cat", *map(str, paths)], stdout=subprocess.DEVNULL, check=True)
    return paths


def watch_first(paths: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Seconds from starting watch to its frame of the last of ``paths``, and VmHWM (MB)."""
    t0 = time.perf_counter()
    with watching_paths(paths, cwd) as watch:
        last = watch.take(len(paths), timeout=600)[-1][0]
        return last - t0, peak_rss_kb(watch.pid) / 1024


def first_frame(cache: Path, files: int, runs: int) -> FirstFrame:
    """Median seconds to all first frames, watch beside once on the same logs, in turns."""
    paths = [str(p) for p in ensure_logs(cache, files)]
    once = [*value_diag(), "once", "--format", "json", *paths]
    # A checked run of each first, uncounted: both print a frame per log, and warm up.
    checked = subprocess.run(once, capture_output=True, check=False)
    frames = checked.stdout.count(b"\n")
    if frames != files:
        stderr = checked.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"once printed {frames} frames for {files} logs; stderr:\n{stderr}")
    watch_first(paths, cache)
    watch_s: list[float] = []
    once_s: list[float] = []
    watch_rss: list[float] = []
    once_rss: list[float] = []
    for r in range(runs):
        for which in ("watch", "once") if r % 2 else ("once", "watch"):
            if which == "watch":
                seconds, rss = watch_first(paths, cache)
                watch_s.append(seconds)
                watch_rss.append(rss)
            else:
                seconds, rss_kb = run(once)
                once_s.append(seconds)
                once_rss.append(rss_kb / 1024)
    return FirstFrame(
        watch_s=statistics.median(watch_s),
        once_s=statistics.median(once_s),
        watch_rss_mb=max(watch_rss),
        once_rss_mb=max(once_rss),
        runs=runs,
    )


def median_following(rounds: list[Following]) -> Following:
    """Each figure's median over the rounds (lines and lost: their sums)."""
    fields: dict[str, Any] = {}
    for name, value in asdict(rounds[0]).items():
        values = [asdict(r)[name] for r in rounds]
        if name in ("lines", "lost"):
            fields[name] = sum(values)
        else:
            fields[name] = type(value)(statistics.median(values))
    return Following(**fields)


def table(sweep: Following, one: Following, first: FirstFrame) -> list[str]:
    """The figures beside their baselines and the targets of issue 14."""

    def met(ok: bool) -> str:
        return "met" if ok else "NOT MET"

    cpu_ratio = sweep.cpu_per_line_ms / one.cpu_per_line_ms
    first_ratio = first.watch_s / first.once_s
    rows = [
        (
            "idle CPU between appends, % of a core",
            f"{sweep.idle_cpu_pct:.2f}",
            f"{one.idle_cpu_pct:.2f}",
            f"{sweep.idle_cpu_pct / one.idle_cpu_pct:.2f}" if one.idle_cpu_pct else "-",
            "-",
            "",
        ),
        (
            "CPU per appended line, ms",
            f"{sweep.cpu_per_line_ms:.3f}",
            f"{one.cpu_per_line_ms:.3f}",
            f"{cpu_ratio:.2f}",
            "<= 2x one run",
            met(cpu_ratio <= 2.0),
        ),
        (
            "write->frame p95, ms",
            f"{sweep.p95_ms:.1f}",
            f"{one.p95_ms:.1f}",
            f"{sweep.p95_ms / one.p95_ms:.2f}",
            "<= 50 ms",
            met(sweep.p95_ms <= 50.0),
        ),
        (
            "max RSS, MB",
            f"{sweep.rss_mb:.0f}",
            f"{one.rss_mb:.0f}",
            f"{sweep.rss_mb / one.rss_mb:.2f}",
            "<= 120 MB",
            met(sweep.rss_mb <= 120.0),
        ),
        (
            f"first frame of {sweep.files} x 4 MiB, s (vs once)",
            f"{first.watch_s:.3f}",
            f"{first.once_s:.3f}",
            f"{first_ratio:.2f}",
            "<= 1.2x once",
            met(first_ratio <= 1.2),
        ),
    ]
    head = ("figure", "sweep", "one run", "ratio", "target", "")
    lines = [f"{head[0]:40} {head[1]:>8} {head[2]:>8} {head[3]:>6}  {head[4]:14}".rstrip()]
    lines += [f"{a:40} {b:>8} {c:>8} {d:>6}  {e:14} {f}".rstrip() for a, b, c, d, e, f in rows]
    return lines


def details(sweep: Following, one: Following, first: FirstFrame, seconds: float) -> list[str]:
    def said(name: str, f: Following) -> str:
        return (
            f"{name}: {f.files} file(s), {f.lines_per_s:g} lines/s for {seconds:g} s:"
            f" {f.lines} lines, {f.lost} reached by no frame; latency p50 {f.p50_ms:.1f}"
            f" / max {f.max_ms:.1f} ms; CPU per line net of idle {f.cpu_per_line_net_ms:.3f} ms"
        )

    return [
        said("sweep", sweep),
        said("one run", one),
        f"first frame: median of {first.runs} runs each, in turns; max RSS watch"
        f" {first.watch_rss_mb:.0f} MB, once {first.once_rss_mb:.0f} MB",
    ]


def main() -> None:
    if "--live" in sys.argv:
        from bench import live

        sys.argv.remove("--live")
        live.main()
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=256, help="run files of the sweep")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between a file's lines")
    ap.add_argument("--seconds", type=float, default=30.0, help="appending, per measurement")
    ap.add_argument("--one-rate", type=float, default=10.0, help="lines/s of the one run")
    ap.add_argument("--quiet", type=float, default=10.0, help="seconds of the idle window")
    ap.add_argument("--runs", type=int, default=9, help="first-frame runs of watch and once")
    ap.add_argument("--rounds", type=int, default=1, help="sweep/one-run pairs (medians)")
    ap.add_argument("--cache", type=Path, default=CACHE, help="where the 4 MiB logs are kept")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, unwind)
    metrics = [m for m, _ in metric_series(Scenario.HEALTHY, 64, seed=1)]
    sweeps: list[Following] = []
    ones: list[Following] = []
    for _ in range(args.rounds):
        sweeps.append(follow(args.files, args.interval, args.seconds, args.quiet, metrics))
        ones.append(follow(1, 1 / args.one_rate, args.seconds, args.quiet, metrics))
    sweep, one = median_following(sweeps), median_following(ones)
    first = first_frame(args.cache, args.files, args.runs)
    if args.json:
        figures = {"sweep": asdict(sweep), "one_run": asdict(one), "first_frame": asdict(first)}
        print(json.dumps(figures, indent=1))
        return
    print("\n".join(table(sweep, one, first)))
    print()
    print("\n".join(details(sweep, one, first, args.seconds)))


if __name__ == "__main__":
    main()
