"""What the benchmarks share: the console script to run, and readings of a running process."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

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
