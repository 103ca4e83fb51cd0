"""A directory or a pattern that matched nothing: `once` and `watch` stop at once, alike.

Through the console script: one line on stderr, exit 2, nothing on stdout, and `watch`
exits by itself (run_cli's timeout would fail the test otherwise).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import DEADLINE, clean_env, script
from ptyterm import Pty
from test_cli_watch import healthy

COMMANDS = ["once", "watch"]


def run_cli(args: list[str], *, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Runs `value-diag ARGS` in ``cwd``, so that paths are given as a user types them."""
    return subprocess.run(
        [*script(), *args],
        cwd=cwd,
        capture_output=True,
        env=clean_env(),
        timeout=DEADLINE,
        check=False,
    )


def refused(cwd: Path, command: str, *paths: str) -> str:
    """Runs the command in ``cwd``; checks it ends with one error line, and returns it."""
    proc = run_cli([command, *paths], cwd=cwd)
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2, err
    assert proc.stdout == b""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    return err.removesuffix("\n")


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """runs/seed0/run.jsonl and runs/seed1/run.jsonl."""
    for seed in (0, 1):
        run = tmp_path / "runs" / f"seed{seed}" / "run.jsonl"
        run.parent.mkdir(parents=True)
        run.write_text(healthy(3.0))
    return tmp_path


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("arg", ["runs/", "runs"])
def test_a_directory_is_refused_with_what_to_give(runs: Path, command: str, arg: str) -> None:
    assert refused(runs, command, arg) == (
        f"value-diag: error: cannot read {arg}: a directory"
        " (give the run files, e.g. runs/*/run.jsonl)"
    )


@pytest.mark.parametrize(
    ("files", "example"),
    [
        (["logs/a.jsonl", "logs/b.jsonl"], "logs/*.jsonl"),
        (["logs/s0/metrics.jsonl", "logs/s1/metrics.jsonl"], "logs/*/metrics.jsonl"),
        ([], "logs/*/run.jsonl"),
    ],
    ids=["files-in-it", "files-a-level-down", "empty"],
)
def test_the_example_follows_what_the_directory_holds(
    tmp_path: Path, files: list[str], example: str
) -> None:
    (tmp_path / "logs").mkdir()
    for name in files:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(healthy(1.0))
    assert refused(tmp_path, "watch", "logs/").endswith(f"e.g. {example})")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("pattern", ["runs/*/nope.jsonl", "run?.jsonl", "seed[0-9]/run.jsonl"])
def test_an_unmatched_pattern_is_refused(runs: Path, command: str, pattern: str) -> None:
    assert refused(runs, command, pattern) == f"value-diag: error: no file matches {pattern}"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_quoted_pattern_that_matches_is_refused(runs: Path, command: str) -> None:
    """The shell expands a pattern; value-diag does not (yet), so it says how to give it."""
    assert refused(runs, command, "runs/*/run.jsonl") == (
        "value-diag: error: cannot read runs/*/run.jsonl: a pattern"
        " (leave it unquoted for the shell to expand)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_one_directory_among_files_stops_before_any_output(runs: Path, command: str) -> None:
    assert refused(runs, command, "runs/seed0/run.jsonl", "runs/").startswith(
        "value-diag: error: cannot read runs/: a directory"
    )


def test_a_file_named_like_a_pattern_is_read(tmp_path: Path) -> None:
    (tmp_path / "run[1].jsonl").write_text(healthy(3.0))
    proc = run_cli(["once", "run[1].jsonl", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert b'"records":1' in proc.stdout


def test_watch_on_a_terminal_refuses_before_drawing(runs: Path) -> None:
    term = Pty(["watch", "runs/"], runs, cols=100, rows=30)
    try:
        assert term.popen.wait(timeout=DEADLINE) == 2  # by itself, no signal sent
        term.reader.join(timeout=DEADLINE)
        assert term.screen.alt_entries == 0, "the live screen was entered"
        assert "value-diag: error: cannot read runs/: a directory" in term.text
        assert "VALUE DIAGNOSTICS" not in term.text
    finally:
        term.close()
