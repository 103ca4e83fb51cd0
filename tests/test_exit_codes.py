"""The exit code never depends on whether a message could be written.

Each case runs the console script with stderr, stdout or both closed (``2>&-``) or handed
a pipe whose reader left before the first byte (``2>&1 | head -0``; the read end is closed
before the process starts, so every write meets a broken pipe: no timing involved). The
code is the same as with both streams open: 1 for a gate that fails, 2 for an input that
cannot be read or a usage error, 3 for no data, 0 for a healthy run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import DEADLINE, SAMPLES, clean_env, script


@dataclass(frozen=True)
class Streams:
    """What stdout and stderr are: "pipe" (read by the test), "closed" or "gone"."""

    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"stdout-{self.stdout}/stderr-{self.stderr}"


SETUPS = [
    Streams("pipe", "closed"),
    Streams("pipe", "gone"),
    Streams("closed", "pipe"),
    Streams("gone", "pipe"),
    Streams("closed", "closed"),
    Streams("gone", "gone"),  # one pipe for both, as `2>&1 | head -0`
]

ONCE_CASES = [
    pytest.param(["once", "runs", "--fail-on", "critical"], 1, id="once-gate-fails"),
    pytest.param(["once", "runs", "--format", "json", "--fail-on", "critical"], 1, id="once-json"),
    pytest.param(
        ["once", "runs", "--fail-on", "critical", "--fail-count", "2"], 1, id="once-fail-count"
    ),
    pytest.param(["once", "missing.jsonl"], 2, id="once-missing-input"),
    pytest.param(["once", "runs/run1.jsonl", "missing.jsonl"], 2, id="once-one-of-two-missing"),
    pytest.param(["once", "nodata.jsonl"], 3, id="once-no-data"),
    pytest.param(["once", "healthy.jsonl", "--fail-on", "warning"], 0, id="once-ok"),
    pytest.param(["once", "--no-such-option", "x"], 2, id="usage-error"),
    pytest.param(["watch", "runs/run1.jsonl", "--fail-on", "critical"], 1, id="watch-gate-fails"),
    pytest.param(
        ["watch", "runs/run1.jsonl", "--format", "json", "--fail-on", "critical"],
        1,
        id="watch-json",
    ),
    pytest.param(["watch", "nowhere/*.jsonl"], 2, id="watch-no-match"),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """runs/ with three dying runs, a healthy run, and a file with no metric in it."""
    (tmp_path / "runs").mkdir()
    for i in (1, 2, 3):
        shutil.copy(SAMPLES / "collapse.jsonl", tmp_path / "runs" / f"run{i}.jsonl")
    shutil.copy(SAMPLES / "healthy.jsonl", tmp_path / "healthy.jsonl")
    (tmp_path / "nodata.jsonl").write_text('{"step": 1}\n')
    return tmp_path


def run_with(streams: Streams, args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    """Runs `value-diag ARGS` with the streams given; its code and what the test could read."""
    closing = "".join(
        f" {fd}>&-" for fd, how in ((1, streams.stdout), (2, streams.stderr)) if how == "closed"
    )
    command = ["bash", "-c", f'exec "$@"{closing}', "bash", *script(), *args]
    gone_r, gone_w = os.pipe()
    os.close(gone_r)  # the reader left before the first byte
    out = gone_w if streams.stdout == "gone" else subprocess.PIPE
    err = gone_w if streams.stderr == "gone" else subprocess.PIPE
    try:
        proc = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=cwd,
            env=clean_env(),
            timeout=DEADLINE * 3,
            check=False,
        )
    finally:
        os.close(gone_w)
    return proc.returncode, proc.stdout or b"", proc.stderr or b""


@pytest.mark.parametrize(("args", "code"), ONCE_CASES)
def test_both_streams_open_give_the_code(workdir: Path, args: list[str], code: int) -> None:
    """The reference: what each case exits with when every message can be written."""
    assert run_with(Streams("pipe", "pipe"), args, workdir)[0] == code


@pytest.mark.parametrize("streams", SETUPS, ids=str)
@pytest.mark.parametrize(("args", "code"), ONCE_CASES)
def test_the_code_survives_a_stream_that_cannot_be_written(
    workdir: Path, streams: Streams, args: list[str], code: int
) -> None:
    got, _, err = run_with(streams, args, workdir)
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert got == code


@pytest.mark.parametrize("stdout", ["closed", "gone"])
def test_with_stdout_unwritable_stderr_still_says_the_verdict(workdir: Path, stdout: str) -> None:
    """Only stdout's broken pipe is quiet: why the gate failed is still said on stderr."""
    got, _, err = run_with(
        Streams(stdout, "pipe"), ["once", "runs", "--fail-on", "critical"], workdir
    )
    assert got == 1
    lines = err.decode().splitlines()
    assert [line.split(" reached ")[0] for line in lines] == [
        "value-diag: run1",
        "value-diag: run2",
        "value-diag: run3",
    ], lines


@pytest.mark.parametrize("stdout", ["closed", "gone"])
def test_watch_with_stdout_unwritable_ends_with_its_verdict(workdir: Path, stdout: str) -> None:
    """A watch whose reader left ends, judged on the frames it had to show."""
    args = ["watch", "runs/run1.jsonl", "--fail-on", "critical"]
    got, _, err = run_with(Streams(stdout, "pipe"), args, workdir)
    assert got == 1
    assert err.decode().startswith("value-diag: runs/run1.jsonl reached critical"), err


def test_a_missing_input_with_stderr_gone_is_still_an_error(workdir: Path) -> None:
    """The error line cannot be written: the code is still 2 (not 1, not a traceback)."""
    got, out, _ = run_with(Streams("pipe", "gone"), ["once", "missing.jsonl"], workdir)
    assert (got, out) == (2, b"")
