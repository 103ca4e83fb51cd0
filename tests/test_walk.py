"""Finding runs on the local disk: walks that end, names that can be told apart, runs that
come and go, and a watch that keeps going when notifications or open files run out.

Through the real console script; the walk's stop and its handling of each entry also
in-process (``ingest/walk.py``), where a signal cannot be timed to land mid-walk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import DEADLINE, run_cli
from test_cli_watch import healthy

from value_diag.ingest.parallel import Interrupted
from value_diag.ingest.walk import below, matching


def run(path: Path, bellman: float = 3.0) -> Path:
    """A run file with one record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(healthy(bellman))
    return path


def sources(cwd: Path, *args: str) -> list[str]:
    """The sources `once ARGS --format json` prints (it must exit 0)."""
    proc = run_cli(["once", *args, "--format", "json"], cwd=cwd, timeout=DEADLINE)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line)["source"] for line in proc.stdout.splitlines()]


def names(cwd: Path, *args: str) -> list[str]:
    """The run names of the text headers `once ARGS` prints (it must exit 0)."""
    proc = run_cli(["once", *args], cwd=cwd, timeout=DEADLINE)
    assert proc.returncode == 0, proc.stderr
    headers = proc.stdout.decode("utf-8").splitlines()
    return [h.split(" | ")[2] for h in headers if h.startswith("VALUE DIAGNOSTICS | ")]


@pytest.fixture
def loops(tmp_path: Path) -> Path:
    """runs/s1/run.jsonl beside three links to runs itself: a, b and c."""
    run(tmp_path / "runs" / "s1" / "run.jsonl")
    for name in "abc":
        (tmp_path / "runs" / name).symlink_to(".")
    return tmp_path


# --------------------------------------------------------------------------- walks that end


@pytest.mark.parametrize("given", ["runs/**/*.jsonl", "**/run.jsonl", "runs/**", "runs"])
def test_once_ends_over_symlink_loops(loops: Path, given: str) -> None:
    """Three `ln -s . x` made the walk of `**` exponential: it never ended."""
    assert sources(loops, given) == [os.path.join("runs", "s1", "run.jsonl")]


def test_double_star_enters_no_symlinked_folder_and_a_star_does(tmp_path: Path) -> None:
    """`**` walks as a directory does: not into symlinked folders. A `*` follows them, as
    the shell does: a pattern's length bounds how deep that goes."""
    run(tmp_path / "runs" / "real" / "run.jsonl")
    run(tmp_path / "elsewhere" / "x" / "run.jsonl")
    (tmp_path / "runs" / "linked").symlink_to(tmp_path / "elsewhere" / "x")
    real = os.path.join("runs", "real", "run.jsonl")
    linked = os.path.join("runs", "linked", "run.jsonl")
    assert sources(tmp_path, "runs/**/run.jsonl") == [real]
    assert sources(tmp_path, "runs") == [real]
    assert sources(tmp_path, "runs/*/run.jsonl") == [linked, real]


def test_a_star_over_a_loop_reads_each_run_once(loops: Path) -> None:
    """`*/*/*/x` through links to `.` reaches one file many ways: it is read once."""
    assert len(sources(loops, "runs/*/*/*/run.jsonl")) == 1


def test_patterns_match_as_the_shell_does(tmp_path: Path) -> None:
    """Hidden names only for a part that starts with a dot; `**` for no folder too."""
    for rel in ("top.jsonl", "a/one.jsonl", "a/b/two.jsonl", ".hid/h.jsonl", "a/.h.jsonl"):
        run(tmp_path / "runs" / rel)
    assert sources(tmp_path, "runs/**/*.jsonl") == [
        os.path.join("runs", "a", "b", "two.jsonl"),
        os.path.join("runs", "a", "one.jsonl"),
        os.path.join("runs", "top.jsonl"),
    ]
    assert sources(tmp_path, "runs/*/.*.jsonl") == [os.path.join("runs", "a", ".h.jsonl")]
    assert sources(tmp_path, "runs/.hid/*.jsonl") == [os.path.join("runs", ".hid", "h.jsonl")]


@pytest.mark.parametrize("walk", ["below", "matching"])
def test_a_walk_asks_to_stop_before_each_folder(tmp_path: Path, walk: str) -> None:
    """A watch's look for new runs ends at a signal, however large the tree."""
    for i in range(3):
        run(tmp_path / f"d{i}" / "run.jsonl")
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(Interrupted):
        if walk == "below":
            below(str(tmp_path), "*.jsonl", stop)
        else:
            matching(str(tmp_path / "**" / "*.jsonl"), stop)
    assert len(asked) == 3


# --------------------------------------------------------------------------- names


def test_folders_named_in_bytes_that_are_no_utf8_are_told_apart(tmp_path: Path) -> None:
    for raw in (b"s\xff1", b"s\xfe1"):
        run(Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"runs", raw, b"run.jsonl"))))
    assert names(tmp_path, "runs") == ["s\\xfe1", "s\\xff1"]


@pytest.mark.parametrize(
    ("mark", "shown"),
    [
        ("\u200b", "seed1\\u200b"),  # zero-width space: a format character
        ("\x1b", "seed1\\x1b"),  # a control
        ("\u034f", "seed1\\u034f"),  # combining grapheme joiner: printable, yet dropped
    ],
)
def test_names_alike_once_cleaned_are_told_apart(tmp_path: Path, mark: str, shown: str) -> None:
    """`seed1` and `seed1` + an invisible mark were two identical rows."""
    run(tmp_path / "runs" / "seed1" / "run.jsonl")
    run(tmp_path / "runs" / f"seed1{mark}" / "run.jsonl")
    assert names(tmp_path, "runs") == ["seed1", shown]


# --------------------------------------------------------------------------- --latest


@pytest.mark.parametrize("bogus", ["9999-99-99_999999", "9999-12-31_235959", "2026-13-45_256199"])
def test_latest_is_not_pinned_by_a_time_that_is_no_start(tmp_path: Path, bogus: str) -> None:
    """A name that says no real time, or one far ahead, is no esper-lite start time."""
    run(tmp_path / "tele" / "telemetry_2026-11-30_170102" / "events.jsonl")
    run(tmp_path / "tele" / f"telemetry_{bogus}" / "events.jsonl")
    want = os.path.join("tele", "telemetry_2026-11-30_170102", "events.jsonl")
    assert sources(tmp_path, "tele", "--latest") == [want]
