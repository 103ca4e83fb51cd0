"""Directories and patterns: what they stand for, the names runs are shown by, and what
is refused (one line on stderr, exit 2, nothing on stdout; `watch` exits by itself)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import DEADLINE, clean_env, invoke, script
from ptyterm import Pty
from telemetry import healthy

COMMANDS = ["once", "watch"]


def run_cli(args: list[str], *, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Runs `value-diag ARGS` in ``cwd``, so that paths are given as a user types them:
    in-process, but for a watch, which is started as the console script."""
    if args[0] != "watch":
        return invoke(args, cwd=cwd)
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


@pytest.mark.parametrize("arg", ["runs/", "runs", "'runs/*/run.jsonl'"])
def test_a_directory_or_a_quoted_pattern_stands_for_its_run_files(runs: Path, arg: str) -> None:
    proc = run_cli(["once", arg.strip("'"), "--format", "json"], cwd=runs)
    assert proc.returncode == 0, proc.stderr
    frames = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(f["source"], f["name"]) for f in frames] == [
        (os.path.join("runs", "seed0", "run.jsonl"), "seed0"),
        (os.path.join("runs", "seed1", "run.jsonl"), "seed1"),
    ]


def test_runs_are_sorted_naturally_and_named_shortly(tmp_path: Path) -> None:
    for seed in (10, 2, 1):
        run = tmp_path / "sweep" / f"seed{seed}" / "run.jsonl"
        run.parent.mkdir(parents=True)
        run.write_text(healthy(3.0))
    proc = run_cli(["once", "sweep"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    headers = [ln for ln in proc.stdout.decode().splitlines() if ln.startswith("VALUE")]
    assert [h.split(" | ")[2] for h in headers] == ["seed1", "seed2", "seed10"]


def test_esper_telemetry_folders_and_pattern(tmp_path: Path) -> None:
    """esper-lite's --telemetry-dir: a folder per run, each holding events.jsonl."""
    for stamp in ("2026-11-30_165338", "2026-11-30_170102"):
        run = tmp_path / "telemetry" / f"telemetry_{stamp}" / "events.jsonl"
        run.parent.mkdir(parents=True)
        run.write_text(healthy(3.0))
    (tmp_path / "telemetry" / "notes.jsonl").write_text("")
    proc = run_cli(
        ["once", "telemetry", "--pattern", "events.jsonl", "--format", "json"], cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    names = [json.loads(line)["name"] for line in proc.stdout.splitlines()]
    assert names == ["telemetry_2026-11-30_165338", "telemetry_2026-11-30_170102"]
    latest = run_cli(["once", "telemetry", "--latest", "--format", "json"], cwd=tmp_path)
    frames = [json.loads(line) for line in latest.stdout.splitlines()]
    assert [f["source"] for f in frames] == [
        os.path.join("telemetry", "telemetry_2026-11-30_170102", "events.jsonl")
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unmatched_pattern_outside_any_directory_is_refused(runs: Path, command: str) -> None:
    assert refused(runs, command, "rnus/*/run.jsonl") == (
        "value-diag: error: no file matches rnus/*/run.jsonl"
    )


@pytest.mark.parametrize("pattern", ["runs/*/nope.jsonl", "run?.jsonl", "seed[0-9]/run.jsonl"])
def test_once_refuses_a_pattern_that_matches_nothing(runs: Path, pattern: str) -> None:
    assert refused(runs, "once", pattern) == f"value-diag: error: no file matches {pattern}"


def test_once_refuses_a_directory_without_run_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert refused(tmp_path, "once", "empty/") == (
        "value-diag: error: no run file in empty/ (looked for *.jsonl, progress.csv,"
        " events.out.tfevents.*, result.json; --pattern to choose)"
    )


def test_a_file_named_like_a_pattern_is_read(tmp_path: Path) -> None:
    (tmp_path / "run[1].jsonl").write_text(healthy(3.0))
    proc = run_cli(["once", "run[1].jsonl", "--format", "json"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert b'"records":1' in proc.stdout


# --- watch: runs that start later -------------------------------------------------------------


def test_watch_follows_runs_created_after_it_started(
    tmp_path: Path, spawn: Callable[..., Any]
) -> None:
    (tmp_path / "runs").mkdir()
    w = spawn("runs/", "--format", "json")
    first = w.frame()
    assert first["status"] == "no_data"
    new = tmp_path / "runs" / "seed0" / "run.jsonl"
    new.parent.mkdir()
    new.write_text(healthy(3.0))
    frame = w.frame(lambda f: f["records"] == 1)
    assert frame["source"] == os.path.join("runs", "seed0", "run.jsonl")
    later = tmp_path / "runs" / "seed1" / "run.jsonl"
    later.parent.mkdir()
    later.write_text(healthy(4.0))
    frame = w.frame(lambda f: f["name"] == "seed1" and f["records"] == 1)
    assert frame["source"] == os.path.join("runs", "seed1", "run.jsonl")


@pytest.mark.parametrize("poll", [[], ["--poll", "0.1"]], ids=["events", "poll"])
def test_watch_latest_switches_to_the_newer_esper_run(
    tmp_path: Path, spawn: Callable[..., Any], poll: list[str]
) -> None:
    old = tmp_path / "telemetry" / "telemetry_2026-11-30_165338" / "events.jsonl"
    old.parent.mkdir(parents=True)
    old.write_text(healthy(3.0))
    w = spawn("telemetry", "--latest", "--format", "json", *poll)
    assert w.frame()["source"].endswith("165338/events.jsonl")
    time.sleep(0.1)
    new = tmp_path / "telemetry" / "telemetry_2026-11-30_170102" / "events.jsonl"
    new.parent.mkdir()
    new.write_text(healthy(4.0))
    frame = w.frame(lambda f: f["source"].endswith("170102/events.jsonl"))
    assert frame["records"] == 1
    with old.open("a") as f:  # the old run writes on: it is no longer followed
        f.write(healthy(5.0))
    with new.open("a") as f:
        f.write(healthy(6.0))
    frame = w.frame(lambda f: f["records"] == 2)
    assert frame["source"].endswith("170102/events.jsonl")
    assert all("165338" not in f["source"] for f in w.frames[w.frames.index(frame) :])


def test_watch_says_what_it_waits_for(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    term = Pty(["watch", "runs/"], tmp_path, cols=100, rows=12)
    try:
        term.wait_for(lambda s: any("waiting for run files in runs/" in r for r in s), "waiting")
        assert term.finish() == 0
    finally:
        term.close()


def test_watch_expands_a_quoted_pattern_again_as_runs_start(
    runs: Path, spawn: Callable[..., Any]
) -> None:
    w = spawn("runs/*/run.jsonl", "--format", "json")
    assert {w.frame()["name"], w.frame()["name"]} == {"seed0", "seed1"}
    later = runs / "runs" / "seed2" / "run.jsonl"
    later.parent.mkdir()
    later.write_text(healthy(4.0))
    frame = w.frame(lambda f: f["name"] == "seed2" and f["records"] == 1)
    assert frame["source"] == os.path.join("runs", "seed2", "run.jsonl")
