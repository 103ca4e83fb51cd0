"""A file time ahead of the clock: `once` says the age is unknown, and --max-age fails the
gate on it (fail closed), in every format. Through the real console script.

A file whose mtime lies ahead of this machine's clock (skew on NFS or an object store) was
counted as just written, so --max-age could never fire on it however long the run had been
dead. Within health.FUTURE_TOLERANCE_S (clocks a little apart) it still counts as just written.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Final

import pytest
from conftest import SAMPLES, invoke, run_cli

from value_diag.health import FUTURE_TOLERANCE_S

AHEAD_S: Final = 3600.0
"""How far ahead of the clock the file's time is set: an hour, far past the tolerance."""
NOW: Final = 1_765_000_000.0
"""The fixed clock of the in-process runs."""


def _dated(tmp_path: Path, ahead: float, name: str = "healthy.jsonl") -> Path:
    """A copy of a healthy sample whose modification time is ``ahead`` seconds from now."""
    path = tmp_path / name
    shutil.copy(SAMPLES / "healthy.jsonl", path)
    then = time.time() + ahead
    os.utime(path, (then, then))
    return path


def _frames(tmp_path: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    proc = run_cli(["once", *args, "--format", "json"], cwd=tmp_path)
    frames = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc.returncode, frames, proc.stderr.decode()


def test_a_file_time_ahead_of_the_clock_has_an_unknown_age(tmp_path: Path) -> None:
    _dated(tmp_path, AHEAD_S)
    code, [frame], _ = _frames(tmp_path, "healthy.jsonl")
    assert code == 0
    assert frame["age_s"] is None and frame["age_unknown"] is True
    assert frame["stale"] is False and frame["status"] == "ok"  # judged by its metrics
    text = run_cli(["once", "healthy.jsonl"], cwd=tmp_path).stdout.decode()
    assert "age unknown" in text.splitlines()[0] and "updated" not in text


def test_max_age_fails_the_gate_on_an_unknown_age(tmp_path: Path) -> None:
    _dated(tmp_path, AHEAD_S)
    code, [frame], err = _frames(
        tmp_path, "healthy.jsonl", "--max-age", "15m", "--fail-on", "critical"
    )
    assert code == 1, err
    assert frame["stale"] is True and frame["status"] == "critical"
    assert frame["gate"]["level"] == "critical" and frame["age_unknown"] is True
    assert "reached critical (--fail-on critical): stale: age unknown" in err
    text = run_cli(["once", "healthy.jsonl", "--max-age", "15m"], cwd=tmp_path).stdout.decode()
    assert "critical: stale: age unknown" in text


def test_markdown_and_github_say_the_age_is_unknown(tmp_path: Path) -> None:
    _dated(tmp_path, AHEAD_S)
    md = run_cli(["once", "healthy.jsonl", "--format", "markdown"], cwd=tmp_path)
    assert "| age unknown" in md.stdout.decode().splitlines()[2]
    gh = run_cli(["once", "healthy.jsonl", "--format", "github"], cwd=tmp_path)
    assert "::warning title=value-diag%3A Age warning::" in gh.stdout.decode()
    stale = run_cli(
        ["once", "healthy.jsonl", "--format", "github", "--max-age", "15m"], cwd=tmp_path
    )
    lines = stale.stdout.decode().splitlines()
    assert any(
        line.startswith("::error title=value-diag%3A Stale critical::") and "age unknown" in line
        for line in lines
    ), lines


def test_a_sweep_table_shows_the_unknown_age(tmp_path: Path) -> None:
    _dated(tmp_path, AHEAD_S, "ahead.jsonl")
    _dated(tmp_path, -5.0, "now.jsonl")
    proc = run_cli(
        ["once", "ahead.jsonl", "now.jsonl", "--compare", "--max-age", "15m"], cwd=tmp_path
    )
    rows = {line.split()[0]: line.split() for line in proc.stdout.decode().splitlines()[2:]}
    assert rows["ahead"][1:4] == ["stale", "stale", "unknown"], rows
    assert rows["now"][1] == "ok", rows


@pytest.mark.parametrize("ahead", [0.0, FUTURE_TOLERANCE_S / 2])
def test_a_file_time_a_little_ahead_is_just_written(tmp_path: Path, ahead: float) -> None:
    """Clocks a little apart: the age is 0, and --max-age judges it as any other. Run in
    this process at a fixed clock, so the age is exact."""
    path = tmp_path / "healthy.jsonl"
    shutil.copy(SAMPLES / "healthy.jsonl", path)
    os.utime(path, (NOW + ahead, NOW + ahead))
    args = ["once", "healthy.jsonl", "--max-age", "15m", "--fail-on", "critical"]
    proc = invoke([*args, "--format", "json"], cwd=tmp_path, clock=lambda: NOW)
    assert proc.returncode == 0, proc.stderr
    [frame] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert "age_unknown" not in frame
    assert frame["age_s"] == 0
    assert frame["stale"] is False


def test_the_readme_states_the_tolerance() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"more than {FUTURE_TOLERANCE_S:g} s ahead of the clock" in " ".join(readme.split())
