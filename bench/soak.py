"""Soak: `watch --format json` following an esper log written at a steady rate for minutes.

The writer appends generated esper lines (bench/esper_log.py, with a bad line now and then
and our names inside foreign strings) at --rate lines per second, in random chunk sizes
that split lines anywhere, and leaves part of a line unwritten between writes. A third of
the way in it truncates the file (a restarted run reopening it with "w"); two thirds in it
replaces it (os.replace of a new file over it). At the end watch's last frame is compared
with `once --format json` on the final file. Watch's RSS is sampled every second and its
CPU time read from /proc. Prints the figures; asserts nothing.

    python bench/soak.py [--minutes 10] [--rate 2000] [--seed 1]
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.esper_log import Mix, generate  # noqa: E402
from bench.procs import cpu_seconds, rss_mb, start_watch, value_diag  # noqa: E402

MIX = Mix(bad_every=997, names_in_strings=True)
QUIET_S = 3.0
"""Seconds without a new frame after the last write before watch's frame counts as final."""
MAX_CHUNKS = (64, 4096, 65536, 1 << 20)
"""Largest write of a tick (bytes), chosen per tick: many tiny writes or a few big ones."""


class Frames:
    """Watch's stdout, read in a thread: the newest frame and when it arrived."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.count = 0
        self.last = b""
        self.at = time.monotonic()
        self.first: queue.Queue[bool] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self.last, self.at = line, time.monotonic()
            self.count += 1
            if self.count == 1:
                self.first.put(True)


class Sampler:
    """RSS of a process once a second, in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[float] = [rss_mb(pid)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(rss_mb(self.pid))

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join()
        self.samples.append(rss_mb(self.pid))
        return self.samples


def lines_of_run(seed: int) -> Iterator[bytes]:
    """An endless esper run: TRAINING_STARTED first, then the usual mix."""
    return generate(1 << 62, seed=seed, mix=MIX)


def write(path: Path, seconds: float, rate: int, rng: random.Random) -> dict[str, float]:
    """Writes for ``seconds`` at ``rate`` lines/s; truncates at 1/3, replaces at 2/3."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    lines = lines_of_run(rng.randrange(1 << 30))
    pending = bytearray()
    generated = written_lines = written_bytes = 0
    truncated = replaced = False
    t0 = time.monotonic()
    while (elapsed := time.monotonic() - t0) < seconds:
        if not truncated and elapsed >= seconds / 3:
            truncated = True
            os.close(fd)  # a restarted run: the unwritten rest of its line is lost
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_APPEND)
            lines, pending = lines_of_run(rng.randrange(1 << 30)), bytearray()
        if not replaced and elapsed >= 2 * seconds / 3:
            replaced = True
            os.close(fd)
            new = path.with_name(path.name + ".new")
            fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND)
            os.replace(new, path)
            lines, pending = lines_of_run(rng.randrange(1 << 30)), bytearray()
        for _ in range(int(rate * elapsed) - generated):
            pending += next(lines)
            generated += 1
        cut = len(pending) if rng.random() < 0.5 else rng.randint(0, len(pending))
        largest = rng.choice(MAX_CHUNKS)
        pos = 0
        while pos < cut:
            size = os.write(fd, pending[pos : pos + rng.randint(1, min(largest, cut - pos))])
            written_lines += pending.count(b"\n", pos, pos + size)
            written_bytes += size
            pos += size
        del pending[:cut]
        time.sleep(rng.uniform(0.001, 0.02))
    written_lines += pending.count(b"\n")
    written_bytes += os.write(fd, pending)
    os.close(fd)
    return {
        "seconds": time.monotonic() - t0,
        "lines": written_lines,
        "bytes": written_bytes,
    }


def pretty(frame: dict[str, Any]) -> list[str]:
    return json.dumps(frame, indent=1, sort_keys=True).splitlines()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=int, default=2000, help="lines per second")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.jsonl"
        path.write_bytes(b"")
        proc = start_watch(path)
        assert proc.stdout is not None
        try:
            frames = Frames(proc.stdout)
            frames.first.get(timeout=30)
            sampler = Sampler(proc.pid)
            cpu0 = cpu_seconds(proc.pid)
            done = write(path, args.minutes * 60, args.rate, rng)
            end_written = time.monotonic()
            while time.monotonic() - max(frames.at, end_written) < QUIET_S:
                time.sleep(0.1)
            settle = frames.at - end_written
            cpu = cpu_seconds(proc.pid) - cpu0
            rss = sampler.stop()
            last = json.loads(frames.last)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        once = subprocess.run(
            [*value_diag(), "once", "--format", "json", str(path)],
            capture_output=True,
            check=False,
        )
        expected = json.loads(once.stdout)
    lines = done["lines"]
    print(
        f"soak: {args.minutes:g} min at {args.rate} lines/s, esper mix in random chunks, "
        "one truncation (1/3) and one rotation by os.replace (2/3)"
    )
    print(f"{'lines written':28} {lines:>12,.0f}  ({lines / done['seconds']:.0f} lines/s)")
    print(f"{'bytes written':28} {done['bytes'] / 1e6:>12,.1f}  MB")
    print(f"{'frames from watch':28} {frames.count:>12,}")
    print(f"{'last frame after last write':28} {max(settle, 0.0) * 1000:>12.0f}  ms")
    print(f"{'watch RSS start / max / end':28} {rss[0]:>6.1f} / {max(rss):.1f} / {rss[-1]:.1f} MB")
    quarters = " / ".join(f"{rss[len(rss) * k // 4]:.1f}" for k in (1, 2, 3))
    print(f"{'watch RSS at 1/4, 1/2, 3/4':28} {quarters} MB")
    print(f"{'watch CPU':28} {cpu:>12.1f}  s  ({cpu / lines * 1000:.3f} s per 1,000 lines)")
    print(f"{'final records / bad lines':28} {last['records']:>12,} / {last['bad_lines']:,}")
    if last == expected:
        print("final frame == once --format json: OK")
    else:
        print("final frame == once --format json: MISMATCH")
        diff = difflib.unified_diff(pretty(expected), pretty(last), "once", "watch", lineterm="")
        print("\n".join(diff))


if __name__ == "__main__":
    main()
