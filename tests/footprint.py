"""How much a run of the console script holds: the most memory at once (what the remote
bounds tests, HTTP and Azure alike, compare with a tiny read's) and its threads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import clean_env, script

PARENT = (
    "import resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stdout.buffer.write(p.stdout)\n"
    "sys.stderr.buffer.write(p.stderr + b'\\npeak=%d' % peak)\n"
    "sys.exit(p.returncode)\n"
)
"""A parent whose only child is the command: it reads the child's peak resident size."""


def measured(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[bytes], int]:
    """`value-diag ARGS` run as a user would (in ``env``, or a clean one), and the most memory
    it held at once (bytes)."""
    proc = subprocess.run(
        [sys.executable, "-c", PARENT, *script(), *args],
        capture_output=True,
        env=env if env is not None else clean_env(),
        timeout=120,
        check=False,
    )
    err, _, peak = proc.stderr.rpartition(b"\npeak=")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout, err), int(
        peak
    ) * scale


def status_of(pid: int, field: str) -> int:
    """The first number of ``field`` in a running process's /proc/PID/status (Linux only:
    the test is skipped elsewhere)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        pytest.skip(f"no /proc: {field} of a running process cannot be read")
    for line in status.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/PID/status")


def peak_of(pid: int) -> int:
    """The most memory a running process has held at once (bytes), as Linux keeps it."""
    return status_of(pid, "VmHWM") * 1024


def threads_of(pid: int) -> int:
    """How many threads a running process has, as Linux says."""
    return status_of(pid, "Threads")
