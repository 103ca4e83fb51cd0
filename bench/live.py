"""The live view on a pseudo-terminal: key to screen, idle CPU and bytes to the terminal.

`value-diag watch` on --files run files (runs/seedNNN/run.jsonl, each appended one line
every --interval seconds as in bench/sweep.py) drawn on a 120x30 pty. While the runs are
appended, ``?`` is pressed every KEY_EVERY_S, opening and closing the help screen: key to
screen is the time from writing the key to the pty to the output after which the screen
shows it (pyte). Then --seconds more of appending with no key pressed: the busy CPU (% of
one core), what reading, judging and drawing new data cost. Then --quiet seconds with
nothing appended: idle CPU (% of one core) and the bytes a second written to the terminal,
and before that ``?`` pressed as often for --quiet seconds more, with nothing appended.
Each figure is the median of --rounds rounds.

A build of value-diag other than the installed one is measured with ``--build DIR``
(a checkout, e.g. a ``git worktree`` of an earlier commit with its extension built by
``python setup.py build_ext --inplace``): it is put first on sys.path by a launcher.
Asserts nothing: prints the figures (--json: as JSON).

    python bench/live.py [--files 40 256] [--build DIR ...] [--rounds 3]

With ``--idle``, nothing is appended and no key pressed: the first screen, the idle CPU
and bytes a second, and the time from SIGTERM to the process's end, the builds in turns
(``--files 5000`` for a big sweep).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pyte

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.procs import cpu_seconds, unwind  # noqa: E402
from bench.sweep import Appender, percentile  # noqa: E402
from value_diag.producer.simulate import Scenario, metric_series  # noqa: E402
from value_diag.schema import ValueFunctionMetrics  # noqa: E402

COLS, ROWS = 120, 30
KEY_EVERY_S = 0.3
"""Time between two presses of ``?`` (s): each is drawn before the next."""
SETTLE_S = 1.5
"""Seconds after the first screen, and before the idle window."""
KEY_TIMEOUT_S = 10.0
"""A key whose screen has not come by then is counted at this (s)."""
LAUNCH = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); "
    "from value_diag.cli import main; sys.exit(main())"
)
"""Runs value-diag from the checkout named by the first argument."""


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """One build's live view following ``files`` runs."""

    files: int
    key_p50_ms: float
    key_p95_ms: float
    """Key to screen while nothing is appended."""
    keys: int
    busy_key_p50_ms: float
    busy_key_p95_ms: float
    """Key to screen while every run is appended a line every --interval seconds."""
    busy_keys: int
    idle_cpu_pct: float
    busy_cpu_pct: float
    """User + system time while the runs were appended and no key pressed, % of one core."""
    busy_bytes_per_s: float
    """Bytes a second to the terminal while the runs were appended and keys pressed."""
    idle_bytes_per_s: float


class Terminal:
    """`value-diag watch ARGS` on a pty, its output fed to pyte by a thread."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.master = master
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.bytes = 0
        self.last_chunk = 0.0
        self.changed = threading.Condition()
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        env.update(TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS))
        try:
            self.proc = subprocess.Popen(
                command, cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env,
                start_new_session=True,
            )  # fmt: skip
        finally:
            os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            with self.changed:
                if chunk:
                    self.bytes += len(chunk)
                    self.last_chunk = time.perf_counter()
                    self.stream.feed(chunk)
                self.changed.notify_all()
            if not chunk:
                return

    def shows(self, pred: Callable[[list[str]], bool], timeout: float) -> float | None:
        """When the output that made the screen satisfy ``pred`` arrived; None if never."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not pred(self.screen.display):
                left = deadline - time.monotonic()
                if left <= 0 or not self.reader.is_alive():
                    return None
                self.changed.wait(left)
            return self.last_chunk

    def press(self, key: bytes) -> float:
        t = time.perf_counter()
        os.write(self.master, key)
        return t

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        os.close(self.master)


def helping(lines: list[str]) -> bool:
    """The help screen is shown."""
    return bool(lines) and lines[0].startswith("Keys")


def tabled(lines: list[str]) -> bool:
    """The table is shown (its footer names the sort)."""
    return any("sort:" in line for line in lines) and not helping(lines)


def press_keys(term: Terminal, stop: threading.Event, delays: list[float]) -> None:
    """Presses ``?`` every KEY_EVERY_S until ``stop``, the help opened then closed, each
    delay from the key to the screen that shows it appended to ``delays`` (s); the help
    closed at the end."""
    want = helping
    while not stop.is_set():
        t0 = term.press(b"?")
        seen = term.shows(want, KEY_TIMEOUT_S)
        delays.append(KEY_TIMEOUT_S if seen is None else max(seen - t0, 0.0))
        want = tabled if want is helping else helping
        time.sleep(KEY_EVERY_S)
    if want is tabled:
        term.press(b"?")
        term.shows(tabled, KEY_TIMEOUT_S)


def one_round(
    files: int,
    build: Path | None,
    interval: float,
    seconds: float,
    quiet: float,
    metrics: Sequence[ValueFunctionMetrics],
) -> LiveFigures:
    """One watch of ``files`` runs on a pty: keys while appending, then idle."""
    names = [f"runs/seed{i:03d}/run.jsonl" for i in range(files)]
    command = _command(build)
    with tempfile.TemporaryDirectory(prefix="value-diag-live-") as tmp:
        root = Path(tmp)
        appender = Appender(root, names, metrics)
        term = Terminal([*command, "watch", *names], root)
        try:
            if term.shows(tabled, 60) is None:
                raise RuntimeError("the table never showed:\n" + "\n".join(term.screen.display))
            time.sleep(SETTLE_S)
            busy: list[float] = []
            stop = threading.Event()
            b0, t0 = term.bytes, time.perf_counter()
            presser = threading.Thread(target=press_keys, args=(term, stop, busy), daemon=True)
            presser.start()
            appender.append(interval, seconds)
            stop.set()
            presser.join()
            busy_bps = (term.bytes - b0) / (time.perf_counter() - t0)
            c0, t0 = cpu_seconds(term.proc.pid), time.perf_counter()
            appender.append(interval, seconds)
            busy_cpu = (cpu_seconds(term.proc.pid) - c0) / (time.perf_counter() - t0)
            time.sleep(SETTLE_S)
            idle_keys: list[float] = []
            stop = threading.Event()
            presser = threading.Thread(target=press_keys, args=(term, stop, idle_keys), daemon=True)
            presser.start()
            time.sleep(quiet)
            stop.set()
            presser.join()
            time.sleep(SETTLE_S)
            idle, idle_bps = quiet_window(term, quiet)
        finally:
            term.stop()
            appender.close()
    ms = sorted(d * 1000 for d in idle_keys)
    busy_ms = sorted(d * 1000 for d in busy)
    return LiveFigures(
        files=files,
        key_p50_ms=percentile(ms, 50),
        key_p95_ms=percentile(ms, 95),
        keys=len(ms),
        busy_key_p50_ms=percentile(busy_ms, 50),
        busy_key_p95_ms=percentile(busy_ms, 95),
        busy_keys=len(busy_ms),
        idle_cpu_pct=idle * 100,
        busy_cpu_pct=busy_cpu * 100,
        busy_bytes_per_s=busy_bps,
        idle_bytes_per_s=idle_bps,
    )


def quiet_window(term: Terminal, quiet: float) -> tuple[float, float]:
    """The watch's CPU (a fraction of one core) and bytes per second to the terminal over
    ``quiet`` seconds in which nothing is pressed or written.

    Raises:
        RuntimeError: the watch ended meanwhile.
    """
    cpu0, b0, q0 = cpu_seconds(term.proc.pid), term.bytes, time.perf_counter()
    time.sleep(quiet)
    elapsed = time.perf_counter() - q0
    idle = (cpu_seconds(term.proc.pid) - cpu0) / elapsed
    if term.proc.poll() is not None:
        raise RuntimeError(f"watch ended early: exit {term.proc.returncode}")
    return idle, (term.bytes - b0) / elapsed


@dataclass(frozen=True, slots=True)
class IdleFigures:
    """One build's live view following ``files`` runs that nothing is written to."""

    files: int
    first_screen_s: float
    """From the start of the process to the first screen of the table."""
    idle_cpu_pct: float
    """User + system time over the quiet window, % of one core."""
    idle_bytes_per_s: float
    stop_ms: float
    """From SIGTERM to the process's end (its terminal given back)."""


def idle_round(
    files: int, build: Path | None, quiet: float, metrics: Sequence[ValueFunctionMetrics]
) -> IdleFigures:
    """One watch of ``files`` runs on a pty with nothing appended: the first screen, the
    CPU over ``quiet`` seconds once it settled, and how long SIGTERM takes to end it."""
    names = [f"runs/seed{i:04d}/run.jsonl" for i in range(files)]
    command = _command(build)
    with tempfile.TemporaryDirectory(prefix="value-diag-idle-") as tmp:
        root = Path(tmp)
        appender = Appender(root, names, metrics)
        appender.close()
        t0 = time.perf_counter()
        term = Terminal([*command, "watch", *names], root)
        try:
            if term.shows(tabled, 120) is None:
                raise RuntimeError("the table never showed:\n" + "\n".join(term.screen.display))
            first = time.perf_counter() - t0
            time.sleep(2 * SETTLE_S)
            idle, idle_bps = quiet_window(term, quiet)
            s0 = time.perf_counter()
            os.kill(term.proc.pid, signal.SIGTERM)
            term.proc.wait(timeout=30)
            stop = time.perf_counter() - s0
        finally:
            term.stop()
    return IdleFigures(files, first, idle * 100, idle_bps, stop * 1000)


def _command(build: Path | None) -> list[str]:
    """value-diag from the installed package, or from the checkout ``build``."""
    if build is None:
        return [sys.executable, "-m", "value_diag"]
    return [sys.executable, "-c", LAUNCH, str(build)]


def idle_table(out: dict[str, dict[int, list[IdleFigures]]]) -> list[str]:
    """The idle figures, a line per build and sweep: medians, and the range over rounds."""
    head = (
        f"{'build':24} {'runs':>5} {'rounds':>6} {'first s':>8} {'idle CPU %':>18}"
        f" {'B/s idle':>8} {'stop ms':>16}"
    )
    lines = [head]
    for name, by_files in out.items():
        for files, figs in sorted(by_files.items()):
            cpu = [f.idle_cpu_pct for f in figs]
            stop = [f.stop_ms for f in figs]
            first = statistics.median(f.first_screen_s for f in figs)
            bps = statistics.median(f.idle_bytes_per_s for f in figs)
            lines.append(
                f"{name[-24:]:24} {files:>5} {len(figs):>6} {first:>8.2f}"
                f" {statistics.median(cpu):>6.2f} [{min(cpu):.2f}-{max(cpu):.2f}]"
                f" {bps:>8.0f} {statistics.median(stop):>5.0f} [{min(stop):.0f}-{max(stop):.0f}]"
            )
    return lines


def median(rounds: list[LiveFigures]) -> LiveFigures:
    """Each figure's median over the rounds (keys: their sum)."""
    fields = {}
    for name, value in asdict(rounds[0]).items():
        values = [asdict(r)[name] for r in rounds]
        median_of = type(value)(statistics.median(values))
        fields[name] = sum(values) if name.endswith("keys") else median_of
    return LiveFigures(**fields)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, nargs="+", default=[40, 256], help="runs followed")
    ap.add_argument("--build", type=Path, nargs="*", default=[], help="checkouts to measure")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between a run's lines")
    ap.add_argument("--seconds", type=float, default=15.0, help="appending, with keys")
    ap.add_argument("--quiet", type=float, default=10.0, help="seconds of the idle window")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per figure (medians)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument(
        "--idle",
        action="store_true",
        help="nothing appended, no keys: first screen, idle CPU and SIGTERM to exit"
        " (for big sweeps: --files 5000)",
    )
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, unwind)
    metrics = [m for m, _ in metric_series(Scenario.HEALTHY, 64, seed=1)]
    builds: list[Path | None] = list(args.build) or [None]
    if args.idle:
        idle: dict[str, dict[int, list[IdleFigures]]] = {}
        for files in args.files:
            for _ in range(args.rounds):  # the builds in turns, sharing the machine's load
                for b in builds:
                    quiet = idle_round(files, b, args.quiet, metrics)
                    idle.setdefault(str(b or "installed"), {}).setdefault(files, []).append(quiet)
        if args.json:
            print(
                json.dumps(
                    {
                        b: {n: [asdict(f) for f in fs] for n, fs in d.items()}
                        for b, d in idle.items()
                    }
                )
            )
            return
        print("\n".join(idle_table(idle)))
        return
    out: dict[str, dict[int, LiveFigures]] = {}
    for files in args.files:
        rounds: dict[str, list[LiveFigures]] = {str(b or "installed"): [] for b in builds}
        for _ in range(args.rounds):  # the builds in turns, sharing the machine's load
            for b in builds:
                fig = one_round(files, b, args.interval, args.seconds, args.quiet, metrics)
                rounds[str(b or "installed")].append(fig)
        for name, figs in rounds.items():
            out.setdefault(name, {})[files] = median(figs)
    if args.json:
        print(json.dumps({b: {n: asdict(f) for n, f in d.items()} for b, d in out.items()}))
        return
    print("\n".join(table(out)))


def table(out: dict[str, dict[int, LiveFigures]]) -> list[str]:
    """The figures, a line per build and sweep: key to screen idle and while appending
    (ms), CPU idle and while appending with no key pressed (% of a core), bytes a second to
    the terminal while appending and idle."""
    head = (
        f"{'build':24} {'runs':>4} {'key p50':>8} {'key p95':>8} {'busy p50':>8}"
        f" {'busy p95':>8} {'idle CPU':>8} {'busy CPU':>8} {'B/s busy':>8} {'B/s idle':>8}"
    )
    lines = [head]
    for name, by_files in out.items():
        for files, f in sorted(by_files.items()):
            lines.append(
                f"{name[-24:]:24} {files:>4} {f.key_p50_ms:>8.1f} {f.key_p95_ms:>8.1f}"
                f" {f.busy_key_p50_ms:>8.1f} {f.busy_key_p95_ms:>8.1f} {f.idle_cpu_pct:>8.2f}"
                f" {f.busy_cpu_pct:>8.1f} {f.busy_bytes_per_s:>8.0f} {f.idle_bytes_per_s:>8.0f}"
            )
    return lines


if __name__ == "__main__":
    main()
