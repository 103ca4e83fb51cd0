"""What the benchmarks share: the console script to run, and readings of a running process."""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TypeVar

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def value_diag() -> list[str]:
    """The console script of the running interpreter's venv (or `python -m value_diag`)."""
    found = shutil.which("value-diag", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "value_diag"]


def start_watch(path: Path, *options: str) -> subprocess.Popen[bytes]:
    """`value-diag watch --format json [options] path`, its frames on a pipe."""
    return subprocess.Popen(
        [*value_diag(), "watch", "--format", "json", *options, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def read_lines(stream: IO[bytes], out: queue.Queue[tuple[float, bytes]]) -> None:
    """Puts each line of ``stream`` with its arrival time (perf_counter) on ``out``."""
    for line in iter(stream.readline, b""):
        out.put((time.perf_counter(), line))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident memory of a process now (MB)."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


def peak_rss_kb(pid: int) -> int:
    """Peak resident memory (VmHWM) of a running process, in KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


class Watched:
    """A running `value-diag watch ARGS`, its stdout on a pipe read by a thread of the
    subclass's (``reader``), its stderr in ``err`` for the message of a failure."""

    def __init__(
        self,
        args: Sequence[str],
        err: IO[bytes],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.err = err
        self.proc = subprocess.Popen(
            [*value_diag(), "watch", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
        )
        self.reader: threading.Thread | None = None

    def read(self, target: Callable[[IO[bytes]], None]) -> None:
        """Reads stdout with ``target`` on a thread of its own."""
        assert self.proc.stdout is not None
        self.reader = threading.Thread(target=target, args=(self.proc.stdout,), daemon=True)
        self.reader.start()

    def failure(self, what: str) -> RuntimeError:
        """What to raise when watch failed the benchmark: what, its exit code, its stderr."""
        self.err.flush()
        self.err.seek(0)
        stderr = self.err.read().decode(errors="replace")[-2000:]
        return RuntimeError(f"watch: {what} (exit code {self.proc.poll()}); stderr:\n{stderr}")

    def stop(self) -> None:
        """SIGINT (watch exits 0 on it), then SIGKILL if it has not gone after 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.reader is not None:
            self.reader.join(timeout=5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def unwind(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler that unwinds the benchmark like Ctrl-C: watch and the servers
    stopped, temporary files removed."""
    raise SystemExit(128 + signum)


W = TypeVar("W", bound=Watched)


@contextlib.contextmanager
def watching(start: Callable[[IO[bytes]], W]) -> Iterator[W]:
    """The watch ``start`` makes (given a file for its stderr), stopped however the block
    ends."""
    with tempfile.TemporaryFile() as err:
        watch = start(err)
        try:
            yield watch
        finally:
            watch.stop()
