"""Stop signals end `watch` whatever it is doing, through the real console script.

A stdout pipe nobody reads (a stalled log shipper, a stopped consumer) must not keep
`watch` from obeying SIGTERM, SIGINT or SIGHUP. Deadlines are safety nets only.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import termios
import time
from pathlib import Path

import pytest
from conftest import DEADLINE, clean_env, script
from test_cli_watch import append, healthy

PIPE_SIZE = 16384
"""The pipe's capacity, made small so that a dozen frames fill it."""


def queued(fd: int) -> int:
    """Bytes waiting in the pipe whose read end is ``fd``."""
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, "little")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_watch_obeys_a_signal_while_its_stdout_pipe_is_full(
    tmp_path: Path, sig: signal.Signals
) -> None:
    run = tmp_path / "run.jsonl"
    run.write_text(healthy(3.0))
    r, w = os.pipe()
    fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_SIZE)
    capacity = fcntl.fcntl(w, getattr(fcntl, "F_GETPIPE_SZ", 1032))
    with open(tmp_path / "stderr", "wb") as err:
        popen = subprocess.Popen(
            [*script(), "watch", "run.jsonl", "--format", "json"],
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=w,
            stderr=err,
            env=clean_env(),
        )
    os.close(w)
    try:
        deadline = time.monotonic() + DEADLINE
        step = 0
        # Updates until the frames fill the pipe, and some more: watch is then writing one.
        while queued(r) < capacity - 4096 or step < 20:
            assert popen.poll() is None, "watch ended before its pipe filled"
            assert time.monotonic() < deadline, f"the pipe never filled ({queued(r)} bytes)"
            step += 1
            append(run, healthy(3.0 + step, step=step))
            time.sleep(0.06)
        for _ in range(5):
            append(run, healthy(4.0, step=1000 + step))
            time.sleep(0.06)
        popen.send_signal(sig)
        try:
            code = popen.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{sig.name} did not end watch while its stdout pipe was full")
        assert code == 0, (tmp_path / "stderr").read_text()
        assert "Traceback" not in (tmp_path / "stderr").read_text()
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
        os.close(r)
