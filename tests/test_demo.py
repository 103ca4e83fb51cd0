"""`value-diag demo` end to end: a simulated run watched until its last frame."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEADLINE, clean_env, run_cli, script

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


TERM_ROUNDS = 12
"""Demos ended by SIGTERM in each test."""


def _sigterm_demo(tmp: Path, when: Callable[[subprocess.Popen[bytes]], None]) -> int:
    """Starts a demo with its temporary files in ``tmp``, sends it SIGTERM once ``when``
    returns, and returns its exit status."""
    popen = subprocess.Popen(
        [*script(), "demo", "--format", "json", "--updates", "1000", "--interval", "0.05"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(TMPDIR=str(tmp)),
    )
    try:
        when(popen)
        popen.send_signal(signal.SIGTERM)
        return popen.wait(timeout=DEADLINE)
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()


def test_sigterm_right_after_the_demo_made_its_folder_leaves_no_folder(tmp_path: Path) -> None:
    """Before the watch installed its handlers, a SIGTERM ended the demo by default and its
    temporary folder stayed: the handlers now come first, whatever the moment."""
    for i in range(TERM_ROUNDS):
        tmp = tmp_path / f"tmp{i}"
        tmp.mkdir()

        def folder_made(popen: subprocess.Popen[bytes], tmp: Path = tmp) -> None:
            deadline = time.monotonic() + DEADLINE
            while not any(tmp.iterdir()) and popen.poll() is None:
                if time.monotonic() > deadline:  # a safety net: the signal goes all the same
                    return
                # no sleep: the signal must come in the instant after the folder is made

        assert _sigterm_demo(tmp, folder_made) in (0, -signal.SIGTERM)
        assert list(tmp.iterdir()) == [], f"round {i}: the temporary folder is left"


def test_sigterm_at_once_after_start_leaves_no_folder(tmp_path: Path) -> None:
    """The same at moments spread over start-up: a SIGTERM before the folder exists ends
    the process by default (nothing to remove), after it the demo removes it."""
    for i in range(TERM_ROUNDS):
        tmp = tmp_path / f"tmp{i}"
        tmp.mkdir()
        after = 0.03 * i

        def a_moment(_: subprocess.Popen[bytes], after: float = after) -> None:
            time.sleep(after)

        assert _sigterm_demo(tmp, a_moment) in (0, -signal.SIGTERM)
        assert list(tmp.iterdir()) == [], f"SIGTERM after {after:.2f} s: the folder is left"
