"""--latest: the run that started last, not the file written last; and the note of a switch,
which names both runs by the shortest names that tell them apart.

Two runs of a sweep write side by side: the one that started first is often the one written
last. Through the console script, on real files; ``runfiles.newest``'s order (esper-lite
names, birth time, first seen, natural order of names) in-process where a file system
cannot be made to show it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from conftest import invoke
from telemetry import healthy
from watching import Spawn, append

from value_diag.ingest.runfiles import ESPER_AHEAD_S, born, newest


def start(path: Path, bellman: float) -> Path:
    """A run that starts now: its file is created with one line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(healthy(bellman))
    return path


def later(first: Path, second: Path) -> None:
    """Skips unless the file system says that ``second`` was created after ``first``: a
    file system that keeps no birth time (NFS, some container layers) cannot tell."""
    one, two = born(str(first)), born(str(second))
    if one is None or two is None or not two > one:
        pytest.skip("this file system keeps no birth time")


def followed(cwd: Path, *args: str, clock: Callable[[], float] | None = None) -> list[str]:
    """The sources `once --latest --format json ARGS` prints, in cwd (at ``clock``)."""
    proc = invoke(["once", *args, "--latest", "--format", "json"], cwd=cwd, clock=clock)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line)["source"] for line in proc.stdout.splitlines()]


def test_once_follows_the_run_started_last_not_the_one_written_last(tmp_path: Path) -> None:
    first = start(tmp_path / "runs" / "seed1" / "run.jsonl", 3.0)
    start(tmp_path / "runs" / "seed2" / "run.jsonl", 4.0)
    append(first, healthy(5.0))  # the first run writes on, after the second started
    assert followed(tmp_path, "runs") == [os.path.join("runs", "seed2", "run.jsonl")]


def test_birth_time_tells_runs_apart_whatever_their_names(tmp_path: Path) -> None:
    """`b` starts first, `a` last, and `b` is written last: neither the names' order nor
    the last write says which run is the newest; the birth time does."""
    first = start(tmp_path / "runs" / "b" / "run.jsonl", 3.0)
    second = start(tmp_path / "runs" / "a" / "run.jsonl", 4.0)
    append(first, healthy(5.0))
    later(first, second)
    assert followed(tmp_path, "runs") == [os.path.join("runs", "a", "run.jsonl")]


@pytest.mark.parametrize("name", ["telemetry_{}/events.jsonl", "telemetry_{}.jsonl"])
def test_an_esper_name_says_when_its_run_started(tmp_path: Path, name: str) -> None:
    """esper-lite's names carry the time its run started: a folder or the file itself. The
    name wins over the birth time, which a copy or a sync makes anew: here the run of
    17:01 was copied in first, the run of 16:53 after it, and is written last."""
    start(tmp_path / "tele" / name.format("2026-11-30_170102"), 3.0)
    old = start(tmp_path / "tele" / name.format("2026-11-30_165338"), 4.0)
    append(old, healthy(5.0))
    assert followed(tmp_path, "tele") == [os.path.join("tele", name.format("2026-11-30_170102"))]


def test_an_esper_time_ahead_of_the_commands_clock_says_nothing(tmp_path: Path) -> None:
    """A name's time more than ESPER_AHEAD_S past the command's clock is no start time:
    at a clock a day before 17:00 on the 30th, the run named 17:01 has not started yet and
    the run named 16:53 is the only one a name dates; a week later, 17:01 is the newest."""
    named = {
        t: os.path.join("tele", f"telemetry_2026-11-30_{t}", "events.jsonl")
        for t in ("165338", "170102")
    }
    for bellman, path in enumerate(named.values()):
        start(tmp_path / path, 3.0 + bellman)
    day_before = datetime(2026, 11, 30, 17, 0).timestamp() - ESPER_AHEAD_S
    week_after = datetime(2026, 12, 7, 17, 0).timestamp()
    assert followed(tmp_path, "tele", clock=lambda: day_before) == [named["165338"]]
    assert followed(tmp_path, "tele", clock=lambda: week_after) == [named["170102"]]


def test_an_esper_counter_orders_runs_started_in_the_same_second(tmp_path: Path) -> None:
    for suffix in ("_2", "_10", ""):
        start(tmp_path / "tele" / f"telemetry_2026-11-30_165338{suffix}" / "events.jsonl", 3.0)
    assert followed(tmp_path, "tele") == [
        os.path.join("tele", "telemetry_2026-11-30_165338_10", "events.jsonl")
    ]


def test_watch_starts_on_the_run_started_last(tmp_path: Path, spawn: Spawn) -> None:
    first = start(tmp_path / "runs" / "seed1" / "run.jsonl", 3.0)
    start(tmp_path / "runs" / "seed2" / "run.jsonl", 4.0)
    append(first, healthy(5.0))
    w = spawn("runs", "--latest", "--format", "json")
    assert w.frame()["source"] == os.path.join("runs", "seed2", "run.jsonl")


def test_watch_switches_to_a_run_that_starts_and_names_both(tmp_path: Path, spawn: Spawn) -> None:
    """Every run writes `run.jsonl`: the note names them by their folders. The run followed
    before keeps writing; the watch stays with the one that started last."""
    first = start(tmp_path / "runs" / "seed1" / "run.jsonl", 3.0)
    w = spawn("runs", "--latest")
    assert "| runs/seed1/run.jsonl |" in w.header(lambda h: "1 record" in h)
    second = start(tmp_path / "runs" / "seed2" / "run.jsonl", 4.0)
    header = w.header(lambda h: "runs/seed2/run.jsonl" in h)
    assert "newer run seed2; was seed1" in header.split(" | "), header
    append(first, healthy(5.0) + healthy(6.0))
    append(second, healthy(7.0))
    header = w.header(lambda h: "2 records" in h)
    assert "| runs/seed2/run.jsonl |" in header, header
    assert all("runs/seed1/run.jsonl |" not in h for h in w.seen[w.seen.index(header) :])


def test_the_switch_note_names_esper_runs_by_their_folders(tmp_path: Path, spawn: Spawn) -> None:
    start(tmp_path / "tele" / "telemetry_2026-11-30_165338" / "events.jsonl", 3.0)
    w = spawn("tele", "--latest")
    w.header(lambda h: "1 record" in h)
    start(tmp_path / "tele" / "telemetry_2026-11-30_170102" / "events.jsonl", 4.0)
    header = w.header(lambda h: "170102" in h)
    note = "newer run telemetry_2026-11-30_170102; was telemetry_2026-11-30_165338"
    assert note in header.split(" | "), header


# --- the order, where a file system cannot be made to show it ---------------------------------


def test_without_birth_times_first_seen_then_names_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On NFS no birth time is kept: a run a watch saw appear later started later; runs
    seen together go by the natural order of their names (run_10 after run_9)."""
    import value_diag.ingest.runfiles as runfiles

    monkeypatch.setattr(runfiles, "born", lambda path: None)
    paths = [str(start(tmp_path / f"run_{n}" / "run.jsonl", 3.0)) for n in (10, 9)]
    assert newest(paths) == paths[0]
    assert newest(paths, {paths[0]: 0, paths[1]: 1}) == paths[1]
    assert newest(reversed(paths)) == paths[0]
    assert newest([]) is None
