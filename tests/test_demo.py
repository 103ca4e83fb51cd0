"""`value-diag demo` end to end: a simulated run watched until its last frame."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import run_cli

from value_diag.commands.demo import Producer
from value_diag.frame import Frame
from value_diag.producer.simulate import Scenario, SimOptions
from value_diag.state import FoldState


def test_demo_in_a_pipe_prints_plain_frames_and_ends_with_the_final_one() -> None:
    proc = run_cli(["demo", "--updates", "5", "--interval", "0.02"], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode().startswith("value-diag: watch your own run: ")
    out = proc.stdout.decode("utf-8")
    assert "\x1b" not in out, "plain frames in a pipe"
    frames = out.strip("\n").split("\n\n")
    last = frames[-1].splitlines()
    assert last[0].startswith("VALUE DIAGNOSTICS | critical: V-Corr, ")
    assert "| 6 records | 0 bad lines" in last[0], "TRAINING_STARTED and all five updates"
    assert last[1].startswith("V-Corr    NaN")
    assert last[2].endswith("TD Std    Inf‼")
    assert last[5] == "Compile   inductor:max-autotune ✓"
    assert all("[no data]" not in f for f in frames), "the watch starts with data in the file"


def test_demo_json_frames_and_a_kept_run(tmp_path: Path) -> None:
    kept = tmp_path / "demo.jsonl"
    proc = run_cli(
        ["demo", "--scenario", "bimodal", "--updates", "4", "--interval", "0",
         "--format", "json", "--out", str(kept)],
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    frames = [json.loads(line) for line in proc.stdout.splitlines()]
    assert frames[-1]["records"] == 5
    assert frames[-1]["source"] == str(kept)
    once = run_cli(["once", str(kept), "--format", "json"])
    assert json.loads(once.stdout)["value_function"] == frames[-1]["value_function"]


def test_demo_refuses_an_unknown_scenario() -> None:
    proc = run_cli(["demo", "--scenario", "melting"])
    assert proc.returncode == 2
    assert b"--scenario must be one of healthy, collapse, bimodal, eager" in proc.stderr


def test_demo_names_an_unwritable_out(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "run.jsonl"
    proc = run_cli(["demo", "--updates", "2", "--interval", "0", "--out", str(target)], timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.decode().startswith(f"value-diag: error: cannot write {target}: ")


# --- when the watch may end ------------------------------------------------------------------


def frame(records: int) -> list[Frame]:
    return [Frame("run.jsonl", FoldState(records=records))]


@pytest.mark.parametrize(
    ("done", "written", "on_screen", "ends"),
    [
        (False, 0, 40, False),  # still writing, whatever is shown
        (True, 41, 40, False),  # the last record is not drawn yet
        (True, 41, 41, True),
    ],
)
def test_the_watch_ends_once_the_last_record_is_drawn(
    done: bool, written: int, on_screen: int, ends: bool
) -> None:
    producer = Producer("run.jsonl", SimOptions(Scenario.HEALTHY))
    producer.written = written
    if done:
        producer.done.set()
    assert producer.drawn(frame(on_screen)) is ends


def test_a_failed_run_ends_the_watch() -> None:
    producer = Producer("run.jsonl", SimOptions())
    producer.error = PermissionError(13, "Permission denied")
    producer.done.set()
    assert producer.drawn(frame(0))


def test_the_producer_thread_records_what_it_wrote(tmp_path: Path) -> None:
    producer = Producer(str(tmp_path / "run.jsonl"), SimOptions(updates=3))
    thread: threading.Thread = producer.start()
    thread.join(timeout=60)
    assert producer.done.is_set() and producer.started.is_set()
    assert (producer.written, producer.error) == (4, None)
