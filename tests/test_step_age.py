"""Step and age: which key names the training step, how old the last record is, and
--max-age making a hung run stale (critical), in once and in watch."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, invoke
from telemetry import EXAMPLE, dumps

from value_diag.ingest.fold import FileState, fold_file
from value_diag.ingest.parse import Record, parse
from value_diag.options import parse_duration

# --- which key is the step ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "step"),
    [
        ({"step": 5, "global_step": 6, "epoch": 7}, 5),
        ({"global_step": 6, "epoch": 7}, 6),
        ({"epoch": 7}, 7),
        ({"step": 2.0}, 2),
        ({"step": "12", "epoch": 3}, 3),  # not a number: the next key names it
        ({"step": 2.5}, None),
        ({"step": True}, None),
        ({"step": None}, None),
        ({"step": -1}, -1),
        ({}, None),
    ],
)
def test_the_first_step_key_holding_a_whole_number_wins(line: dict[str, Any], step: int) -> None:
    parsed = parse(dumps({**line, **EXAMPLE}))
    assert isinstance(parsed, Record)
    assert parsed.step == step


def test_an_esper_update_is_numbered_by_its_epoch_not_its_inner_epoch() -> None:
    event = {
        "event_type": "PPO_UPDATE_COMPLETED",
        "epoch": 41,
        "data": {**EXAMPLE, "inner_epoch": 3, "batch": 0},
    }
    parsed = parse(dumps(event))
    assert isinstance(parsed, Record) and parsed.step == 41


def test_a_snapshot_line_names_its_step() -> None:
    parsed = parse(dumps({"step": 3, "tamiyo": {"value_function": EXAMPLE}}))
    assert isinstance(parsed, Record) and parsed.step == 3


def _fold(*objs: dict[str, Any]) -> int | None:
    lines = [(i + 1, dumps(o)) for i, o in enumerate(objs)]
    return fold_file(FileState.empty(), lines, 0.0).whole.step


def test_the_step_stays_until_a_line_names_another_and_a_new_run_clears_it() -> None:
    start = {"event_type": "TRAINING_STARTED", "data": {}}
    update = {"event_type": "PPO_UPDATE_COMPLETED", "data": EXAMPLE}
    assert _fold({**update, "epoch": 4}, update) == 4
    assert _fold({**update, "epoch": 4}, start) is None
    assert _fold({**update, "epoch": 4}, start, {**update, "epoch": 0}) == 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1.5h", 5400), ("45", 45)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10x", "m", "-5m", "0", "0s", "1e3", "5 minutes"])
def test_what_is_not_a_duration(text: str) -> None:
    assert parse_duration(text) is None


# --- once: the age is the file's ------------------------------------------------------------


def _aged(tmp_path: Path, seconds: float, name: str = "healthy.jsonl") -> Path:
    """A copy of a healthy sample last written ``seconds`` ago."""
    path = tmp_path / name
    shutil.copy(SAMPLES / "healthy.jsonl", path)
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def _json(
    *args: str, cwd: Path, clock: Callable[[], float] | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    proc = invoke(["once", *args, "--format", "json"], cwd=cwd, clock=clock)
    frames = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    return proc.returncode, frames, proc.stderr.decode()


def test_once_counts_the_age_from_the_files_last_write(tmp_path: Path) -> None:
    """At a fixed clock, 400.25 s after the file's last write (1000 s by the real one):
    exactly that age."""
    written = _aged(tmp_path, 1000).stat().st_mtime
    at = written + 400.25
    proc = invoke(["once", "healthy.jsonl", "--format", "json"], cwd=tmp_path, clock=lambda: at)
    assert proc.returncode == 0, proc.stderr
    frame = json.loads(proc.stdout)
    assert frame["age_s"] == pytest.approx(400.25, abs=0.001)  # JSON rounds to 1 ms
    assert frame["step"] == 59 and frame["stale"] is False and frame["status"] == "ok"
    text = invoke(["once", "healthy.jsonl"], cwd=tmp_path, clock=lambda: at)
    header = text.stdout.decode().splitlines()[0]
    assert header.endswith(" | updated 6m40s ago"), header
    assert " | step 59 | " in header, header


def test_a_run_older_than_max_age_is_stale_and_critical(tmp_path: Path) -> None:
    # at a fixed clock 17m05s after the file's last write: exactly that age, everywhere
    at = _aged(tmp_path, 0).stat().st_mtime + 17 * 60 + 5
    code, (frame,), _ = _json("healthy.jsonl", "--max-age", "15m", cwd=tmp_path, clock=lambda: at)
    assert code == 0  # judged critical, but nothing asked to fail
    assert frame["stale"] is True and frame["status"] == "critical"
    proc = invoke(
        ["once", "healthy.jsonl", "--max-age", "15m", "--fail-on", "critical"],
        cwd=tmp_path,
        clock=lambda: at,
    )
    assert proc.returncode == 1
    assert proc.stderr.decode() == (
        "value-diag: healthy.jsonl reached critical (--fail-on critical):"
        " stale: no record for 17m05s\n"
    )
    header = proc.stdout.decode().splitlines()[0]
    assert "critical: stale: no record for 17m05s" in header, header


def test_a_run_younger_than_max_age_is_judged_by_its_metrics(tmp_path: Path) -> None:
    _aged(tmp_path, 5 * 60)
    code, (frame,), _ = _json(
        "healthy.jsonl", "--max-age", "15m", "--fail-on", "critical", cwd=tmp_path
    )
    assert code == 0 and frame["stale"] is False and frame["status"] == "ok"


def test_cron_catches_the_hung_run_and_the_dying_one_alike(tmp_path: Path) -> None:
    # at a fixed clock an hour after the hung run's last write
    at = _aged(tmp_path, 3600, "hung.jsonl").stat().st_mtime + 3600
    _aged(tmp_path, 10, "fresh.jsonl")
    dying = tmp_path / "dying.jsonl"
    shutil.copy(SAMPLES / "collapse.jsonl", dying)
    os.utime(dying, (at, at))
    code, frames, err = _json(
        "hung.jsonl",
        "fresh.jsonl",
        "dying.jsonl",
        "--max-age",
        "15m",
        "--fail-on",
        "critical",
        cwd=tmp_path,
        clock=lambda: at,
    )
    assert code == 1
    status = {f["source"]: (f["status"], f["stale"]) for f in frames}
    assert status == {
        "hung.jsonl": ("critical", True),
        "fresh.jsonl": ("ok", False),
        "dying.jsonl": ("critical", False),
    }
    # Shown by their short names: the extension they share left out.
    assert "value-diag: hung reached critical" in err and "stale: no record for 1h00m" in err
    assert "value-diag: dying reached critical" in err and "fresh" not in err


def test_a_file_with_no_record_is_waiting_never_stale(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    old = time.time() - 7200
    os.utime(empty, (old, old))
    code, (frame,), _ = _json("empty.jsonl", "--max-age", "1m", cwd=tmp_path)
    assert code == 3
    assert frame["age_s"] is None and frame["stale"] is False and frame["status"] == "no_data"


@pytest.mark.parametrize("bad", ["10x", "0", "soon"])
def test_max_age_that_is_not_a_duration_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    _aged(tmp_path, 0)
    proc = invoke(["once", "healthy.jsonl", "--max-age", bad], cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert f"--max-age: {bad!r} is not a duration" in err and "Traceback" not in err


# --- watch: a run goes stale while watched ---------------------------------------------------


def test_watch_fails_a_run_that_stops_writing(tmp_path: Path, spawn: Callable[..., Any]) -> None:
    # 3 s, not 1: on a loaded machine the first frame can come a second after the write.
    run = tmp_path / "run.jsonl"
    run.write_bytes(dumps({"step": 1, **EXAMPLE}) + b"\n")
    w = spawn("run.jsonl", "--format", "json", "--max-age", "3s", "--fail-on", "critical")
    first = w.frame()
    assert first["stale"] is False and first["step"] == 1
    with run.open("ab") as f:  # still writing: still judged by its metrics
        f.write(dumps({"step": 2, **EXAMPLE}) + b"\n")
    assert w.frame(lambda f: f["step"] == 2)["stale"] is False
    last = w.frame(lambda f: f["stale"])
    assert last["status"] == "critical" and last["step"] == 2 and last["age_s"] > 3
    assert w.wait() == 1
    said = re.search(
        r"reached critical \(--fail-on critical\): stale: no record for (\d+)s",
        w.stderr,
    )
    assert said and int(said[1]) >= 3, w.stderr  # stale only once older than --max-age
