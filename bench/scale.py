"""Scale benchmarks: a gigabyte esper log read by `once` and `watch`, beside grep and jq.

Measures, each the median of --runs runs, on this machine with the file in the page
cache: (1) `once` on a 1 GB log against `grep -c`, the jq pipeline a user would write,
and plain Python loops; (2) `once` on a small file against a minimal Typer app's start;
(3) max RSS of `once` and `watch` on the 1 GB log and on one holding a 300 MB line;
(4) `watch`'s first frame on the 1 GB log; (5) the rate of appends `watch` keeps up with.
Prints a table; asserts nothing. Generated logs are kept in bench/data/.

    python bench/scale.py [--size 1G] [--runs 3] [--skip-slow]
    python bench/scale.py --startup-only [--runs 30]

Start-up is measured with byte code cached (in a temporary PYTHONPYCACHEPREFIX), as an
installed package has it, even where PYTHONDONTWRITEBYTECODE is set.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.esper_log import Mix, parse_size, write  # noqa: E402
from bench.procs import peak_rss_kb, read_lines, start_watch, value_diag  # noqa: E402

DATA = HERE / "data"
MINIMAL_TYPER = """\
import typer

app = typer.Typer()


@app.command()
def main(path: str) -> None:
    pass


app()
"""


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and max RSS (KB) of one command, its output read through a pipe.

    GNU time reports the RSS: a fresh small parent, so the figure is the command's own
    (with the processes it waits for), not inherited from this script.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, check=False, env=env
    )
    elapsed = time.perf_counter() - t0
    rss = proc.stderr.decode().strip().splitlines()[-1]
    return elapsed, int(rss) if rss.isdigit() else 0


def median_run(cmd: list[str], runs: int) -> tuple[float, int]:
    results = [run(cmd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def interleaved(cmds: list[list[str]], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Median wall seconds of each command, run in turns so that drift hits all alike."""
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            times[i].append(run(cmd, env)[0])
    return [statistics.median(t) for t in times]


def startup(runs: int) -> list[tuple[str, float]]:
    """Median seconds of `once` on a small file, `thresholds` and `--help`, beside a minimal
    Typer app and a bare interpreter; byte code cached for all (one warm-up run each)."""
    small = HERE.parent / "sample_logs" / "collapse.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        mini = Path(tmp) / "mini.py"
        mini.write_text(MINIMAL_TYPER)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        named = [
            ("once, small file (start-up)", [*value_diag(), "once", str(small)]),
            ("  value-diag thresholds", [*value_diag(), "thresholds"]),
            ("  value-diag --help", [*value_diag(), "--help"]),
            ("  minimal Typer app", [sys.executable, str(mini), "x"]),
            ("  python -c pass", [sys.executable, "-c", "pass"]),
        ]
        interleaved([cmd for _, cmd in named], 1, env)  # compile and cache the byte code
        times = interleaved([cmd for _, cmd in named], runs, env)
    return [(name, t) for (name, _), t in zip(named, times, strict=True)]


def watch_first_frame(path: Path) -> tuple[float, int]:
    """Seconds from start to watch's first frame, and its max RSS (KB) by then."""
    t0 = time.perf_counter()
    proc = start_watch(path)
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    rss = peak_rss_kb(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return elapsed, rss


def ingest_rate(source: Path, total: int) -> tuple[float, float]:
    """MB/s of esper lines appended as fast as possible that watch keeps up with.

    Returns (watch's rate: bytes until its frame shows the last record, over the time
    since the first append), (the writer's own rate).
    """
    payload = source.read_bytes()[:total]
    payload = payload[: payload.rfind(b"\n") + 1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.jsonl"
        path.write_bytes(b"")
        proc = start_watch(path)
        assert proc.stdout is not None
        frames: queue.Queue[tuple[float, bytes]] = queue.Queue()
        threading.Thread(target=read_lines, args=(proc.stdout, frames), daemon=True).start()
        frames.get(timeout=30)
        expected = run_once_records(source, len(payload))
        t0 = time.perf_counter()
        with path.open("ab") as f:
            for i in range(0, len(payload), 1 << 20):
                f.write(payload[i : i + (1 << 20)])
                f.flush()
        t_written = time.perf_counter()
        needle = f'"records":{expected},'.encode()
        while True:
            t_frame, line = frames.get(timeout=120)
            if needle in line:
                break
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    mb = len(payload) / 1e6
    return mb / (t_frame - t0), mb / (t_written - t0)


def run_once_records(source: Path, size: int) -> int:
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as tmp:
        data = source.read_bytes()[:size]
        tmp.write(data[: data.rfind(b"\n") + 1])
        tmp.flush()
        out = subprocess.run(
            [*value_diag(), "once", "--format", "json", tmp.name], capture_output=True, check=False
        ).stdout
    import json

    records: int = json.loads(out)["records"]
    return records


def ensure(path: Path, size: int, mix: Mix) -> Path:
    if not path.exists() or path.stat().st_size < size:
        print(f"writing {path} ...", file=sys.stderr)
        write(path, size, seed=1, mix=mix)
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # page cache
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1G")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-slow", action="store_true", help="skip the json.loads-per-line loop")
    ap.add_argument("--startup-only", action="store_true", help="measure start-up only")
    args = ap.parse_args()
    if args.startup_only:
        figures = startup(max(args.runs, 15))
        for name, seconds in figures:
            print(f"{name:42} {seconds:8.3f}")
        ratio = figures[0][1] / figures[3][1]
        print(f"start-up / minimal Typer: {ratio:.2f}x (target <= 1.15)")
        return
    size = parse_size(args.size)
    DATA.mkdir(exist_ok=True)
    big = ensure(DATA / f"esper-{args.size}.jsonl", size, Mix())
    long = ensure(DATA / f"esper-{args.size}-long-line.jsonl", size, Mix(long_line=300 << 20))
    rows: list[tuple[str, str, str]] = []

    def add(name: str, seconds: float, rss: int | None = None) -> None:
        rows.append((name, f"{seconds:8.3f}", f"{rss / 1024:8.0f}" if rss else ""))

    gb = size / (1 << 30)
    # 1. once on a big file, and the baselines.
    once_s, once_rss = median_run([*value_diag(), "once", str(big)], args.runs)
    grep_s, _ = median_run(["grep", "-c", '"compile_enabled"', str(big)], args.runs)
    cat_s, _ = median_run(["bash", "-c", f"cat {big} > /dev/null"], args.runs)
    jq = f"jq -c 'select(.event_type==\"PPO_UPDATE_COMPLETED\")' {big} | tail -1"
    jq_s, _ = median_run(["bash", "-c", jq], args.runs)
    orjson_loop = (
        "import orjson,sys\nfor l in open(sys.argv[1],'rb'):\n"
        "    try: orjson.loads(l)\n    except orjson.JSONDecodeError: pass"
    )
    orj_s, _ = median_run([sys.executable, "-c", orjson_loop, str(big)], args.runs)
    add(f"once, {gb:.1f} GiB esper log", once_s, once_rss)
    add("  cat > /dev/null", cat_s)
    add("  grep -c '\"compile_enabled\"'", grep_s)
    add("  jq select PPO | tail -1", jq_s)
    add("  orjson.loads on every line", orj_s)
    if not args.skip_slow:
        json_loop = "import json,sys\nfor l in open(sys.argv[1],'rb'): json.loads(l)"
        add(
            "  json.loads on every line",
            median_run([sys.executable, "-c", json_loop, str(big)], args.runs)[0],
        )
    # 2. start-up.
    figures = startup(max(args.runs, 15))
    for name, seconds in figures:
        add(name, seconds)
    start_s, typer_s = figures[0][1], figures[3][1]
    # 3. memory with a 300 MB line.
    long_s, long_rss = median_run([*value_diag(), "once", str(long)], args.runs)
    add(f"once, {gb:.1f} GiB + one 300 MiB line", long_s, long_rss)
    # 4. watch: first frame.
    firsts = [watch_first_frame(big) for _ in range(args.runs)]
    add(
        f"watch, first frame of {gb:.1f} GiB",
        statistics.median(f[0] for f in firsts),
        max(f[1] for f in firsts),
    )
    long_first = [watch_first_frame(long) for _ in range(args.runs)]
    add(
        "watch, first frame, + 300 MiB line",
        statistics.median(f[0] for f in long_first),
        max(f[1] for f in long_first),
    )
    # 5. ingest while following.
    rates = [ingest_rate(big, 256 << 20) for _ in range(args.runs)]
    watch_rate = statistics.median(r[0] for r in rates)
    writer_rate = statistics.median(r[1] for r in rates)

    print(f"{'measurement':42} {'seconds':>8} {'max RSS MB':>10}")
    for name, secs, rss in rows:
        print(f"{name:42} {secs} {rss:>10}")
    print()
    print(
        f"once / grep: {once_s / grep_s:.2f}x (target <= 2.5)    "
        f"jq / once: {jq_s / once_s:.1f}x (target >= 20)    "
        f"start-up / minimal Typer: {start_s / typer_s:.2f}x (target <= 1.15)"
    )
    first_s = statistics.median(f[0] for f in firsts)
    print(f"watch first frame - once: {1000 * (first_s - once_s):+.0f} ms (target <= +100)")
    print(
        f"watch ingest: {watch_rate:.0f} MB/s of appended esper lines "
        f"(the writer alone: {writer_rate:.0f} MB/s)"
    )


if __name__ == "__main__":
    main()
