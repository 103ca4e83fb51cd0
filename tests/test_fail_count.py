"""--fail-count: a sweep fails only when at least N of its runs reach --fail-on."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import DEADLINE, clean_env, invoke, script
from sweeps import NAMES, RUNS, sweep

DYING = [NAMES[1], NAMES[2]]
"""The sweep's two critical runs, worst first (by name among equals)."""


def run_in(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`value-diag ARGS` in ``cwd``, as text: in-process, but for a watch, which is started
    as the console script."""
    if args[0] != "watch":
        proc = invoke(args, cwd=cwd)
        return subprocess.CompletedProcess(
            proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
        )
    return subprocess.run(
        [*script(), *args],
        cwd=cwd,
        capture_output=True,
        env=clean_env(),
        timeout=30,
        check=False,
        text=True,
        encoding="utf-8",
    )


@pytest.mark.parametrize("compare", [[], ["--compare"]], ids=["frames", "compare"])
@pytest.mark.parametrize(("count", "code"), [(1, 1), (2, 1), (3, 0), (4, 0)])
def test_exit_1_only_when_at_least_n_runs_reach_the_level(
    tmp_path: Path, count: int, code: int, compare: list[str]
) -> None:
    sweep(tmp_path)
    args = ["once", *RUNS, "--fail-on", "critical", "--fail-count", str(count), *compare]
    proc = run_in(tmp_path, *args)
    assert proc.returncode == code, proc.stderr
    said = proc.stderr.splitlines()
    verdicts = [f"value-diag: {run} reached critical (--fail-on critical): " for run in DYING]
    if count == 1:  # the rule --fail-on always had: a line per failed run
        assert [line[: len(v)] for line, v in zip(said, verdicts, strict=True)] == verdicts
        return
    names = ", ".join(DYING)
    if code == 1:  # a line per failed run, and the count
        assert len(said) == 3 and all(
            line.startswith(v) for line, v in zip(said, verdicts, strict=False)
        )
        assert (
            said[2] == f"value-diag: 2 of 4 runs reached critical (--fail-count {count}): {names}"
        )
    else:  # tolerated: one line says what was let pass
        assert said == [
            f"value-diag: 2 of 4 runs reached critical, fewer than --fail-count {count}: {names}"
        ]


def test_warning_counts_the_runs_at_warning_or_worse(tmp_path: Path) -> None:
    sweep(tmp_path)
    proc = run_in(tmp_path, "once", *RUNS, "--fail-on", "warning", "--fail-count", "2")
    assert proc.returncode == 1, proc.stderr


def test_a_tolerated_failure_leaves_the_other_codes(tmp_path: Path) -> None:
    """With the failure let pass, a run without data still says so (exit 3)."""
    sweep(tmp_path)
    (tmp_path / "empty.jsonl").write_bytes(b"")
    proc = run_in(
        tmp_path,
        "once",
        RUNS[0],
        RUNS[1],
        "empty.jsonl",
        "--fail-on",
        "critical",
        "--fail-count",
        "2",
    )
    assert proc.returncode == 3, proc.stderr


@pytest.mark.parametrize("command", ["once", "watch"])
def test_fail_count_without_fail_on_is_a_usage_error(tmp_path: Path, command: str) -> None:
    sweep(tmp_path)
    for args in (["--fail-count", "2"], ["--fail-count", "2", "--fail-on", "never"]):
        proc = run_in(tmp_path, command, *RUNS, *args)
        assert proc.returncode == 2, proc.stderr
        assert "value-diag: error: --fail-count needs --fail-on" in proc.stderr
        assert proc.stdout == ""


@pytest.mark.parametrize("count", ["0", "-1", "two"])
def test_fail_count_is_a_positive_number(tmp_path: Path, count: str) -> None:
    sweep(tmp_path)
    proc = run_in(tmp_path, "once", *RUNS, "--fail-on", "critical", "--fail-count", count)
    assert proc.returncode == 2, proc.stderr
    assert "--fail-count" in proc.stderr


def test_watch_ends_once_n_runs_reached_the_level(
    tmp_path: Path, spawn: Callable[..., Any]
) -> None:
    sweep(tmp_path)
    w = spawn(*RUNS, "--format", "json", "--fail-on", "critical", "--fail-count", "2")
    assert w.wait() == 1, w.stderr
    said = w.stderr.splitlines()
    assert (
        said[-1] == f"value-diag: 2 of 4 runs reached critical (--fail-count 2): {', '.join(DYING)}"
    )


def test_watch_below_the_count_goes_on(tmp_path: Path, spawn: Callable[..., Any]) -> None:
    import signal

    sweep(tmp_path)
    w = spawn(*RUNS, "--format", "json", "--fail-on", "critical", "--fail-count", "3")
    seen = {w.frame()["source"] for _ in RUNS}
    assert seen == set(RUNS)
    assert w.popen.poll() is None, "two critical runs of three allowed: still watching"
    w.send(signal.SIGINT)
    assert w.wait() == 0, w.stderr
    assert "reached" not in w.stderr


def test_watch_on_a_terminal_names_each_run_that_failed_then_the_count(tmp_path: Path) -> None:
    """The live view keeps every closing line for after the alternate screen: the runs
    that reached the level, then the count (before, only the count was said)."""
    from ptyterm import Pty

    sweep(tmp_path)
    term = Pty(
        ["watch", *RUNS, "--fail-on", "critical", "--fail-count", "2"], tmp_path, cols=120, rows=30
    )
    try:
        assert term.popen.wait(timeout=DEADLINE) == 1, term.text  # ends by itself
        term.reader.join(timeout=DEADLINE)
        said = [line for line in term.text.splitlines() if line.startswith("value-diag:")]
        assert said[-1].startswith("value-diag: 2 of 4 runs reached critical (--fail-count 2)")
        named = [line.split(" reached ")[0] for line in said[:-1]]
        assert named == [f"value-diag: {name}" for name in DYING], said
    finally:
        term.close()
