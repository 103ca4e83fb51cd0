"""A watch that is slow to end by itself after a stop signal is let end: only a watch
stuck in a write to its terminal or stdout is ended from another thread."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from conftest import clean_env
from telemetry import healthy
from watching import Watch

SLOW_S = 1.5
"""How long the step summary's reader keeps the watch waiting once stopped (s): more than
the grace a stuck watch gets (stopper.GRACE_S, 0.5 s)."""


def test_a_slow_clean_exit_is_not_cut_short(tmp_path: Path) -> None:
    """The step summary is written at the end of `--format github`; a summary file that
    takes its time (here a FIFO read late) holds the watch up, and it still ends by itself,
    the summary written and the exit code its own."""
    run = tmp_path / "run.jsonl"
    run.write_text(healthy(80.0, step=1))  # critical: an annotation says it has started
    summary = tmp_path / "summary"
    os.mkfifo(summary)
    w = Watch(
        ["run.jsonl", "--format", "github"],
        cwd=tmp_path,
        env=clean_env(GITHUB_STEP_SUMMARY=str(summary)),
    )
    try:
        assert w.next_line() is not None, "the first frame's annotation"
        w.send(signal.SIGINT)
        time.sleep(SLOW_S)  # the watch waits to open the summary: no reader yet
        fd = os.open(summary, os.O_RDONLY | os.O_NONBLOCK)
        try:
            code = w.wait()
            got = _read(fd)
        finally:
            os.close(fd)
        assert code == 0
        assert b"run.jsonl" in got, "the summary was written, not cut short"
    finally:
        w.close()


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""
