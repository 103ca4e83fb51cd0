"""ingest/parallel.py: a file folded in parts equals folding every line; the parts are read by
forked or spawned processes, or here when none can start.

How a file is cut and its parts put together is checked with the parts read here
(``processes=False``); the reading processes themselves, forked alone and spawned beside
another thread, with the same logs."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DEADLINE
from esperlog import Mix, write
from reading import fold_path, is_candidate

from value_diag.errors import ReadError
from value_diag.ingest import files
from value_diag.ingest import parallel as scan
from value_diag.ingest.fold import fold
from value_diag.ingest.parallel import catch_up
from value_diag.ingest.parse import EVENT_TYPES
from value_diag.state import FoldState

NOW = 1_000.0


def reference(data: bytes, history: int = 0, recent: int = 0) -> FoldState:
    """The simple path: split into lines, examine each candidate line, fold in order."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if is_candidate(line)]
    return fold(FoldState(history_len=history, recent_len=recent), numbered, NOW)


def _event_type(line: bytes) -> object:
    try:
        return json.loads(line).get("event_type")
    except (ValueError, AttributeError):
        return None


MIXES = {
    "plain": Mix(),
    "bad-lines": Mix(bad_every=7),
    "names-in-strings": Mix(names_in_strings=True),
    "restart-after-last-update": Mix(restart_at_end=True),
    "everything": Mix(bad_every=5, names_in_strings=True, restart_at_end=True),
    "runs": Mix(run_headers=4, ev_only=True),
}


@pytest.fixture(scope="module", params=sorted(MIXES))
def log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("logs") / f"{request.param}.jsonl"
    write(path, 400_000, seed=len(request.param), mix=MIXES[request.param])
    return path


@pytest.mark.parametrize("parts", [1, 2, 3, 5, 8])
def test_fold_path_in_parts_equals_folding_every_line(log: Path, parts: int) -> None:
    expected = reference(log.read_bytes())
    assert expected.records > 0
    assert fold_path(str(log), NOW, parts=parts, processes=False) == expected


@pytest.mark.parametrize("parts", [2, 5])
def test_history_and_recent_in_parts_equal_folding_every_line(log: Path, parts: int) -> None:
    expected = reference(log.read_bytes(), history=7, recent=30)
    assert expected.records > 0
    got = fold_path(str(log), NOW, parts=parts, history=7, recent=30, processes=False)
    assert repr(got) == repr(expected)  # NaN equals NaN
    assert len(got.recent) == min(30, got.updates)


def test_generated_logs_hold_what_the_cases_name(log: Path) -> None:
    """The fixtures really contain bad lines, NaN, names in strings, a final restart."""
    data = log.read_bytes()
    state = reference(data)
    assert b"NaN" in data
    mix = MIXES[log.stem]
    assert (state.bad_lines > 0) is (mix.bad_every > 0)
    foreign_candidates = sum(
        1
        for line in data.split(b"\n")
        if is_candidate(line) and _event_type(line) not in (None, *EVENT_TYPES)
    )
    assert (foreign_candidates > 0) is mix.names_in_strings
    if mix.restart_at_end:
        assert state.values is None, "a TRAINING_STARTED after the last update clears values"
    headers = data.count(b'"value_diag_run"')
    assert headers == mix.run_headers
    if mix.run_headers:
        assert state.writer is not None and state.rules == "scale-free"
    every = reference(data, history=10**6)
    assert (every.updates > len(every.history)) is mix.ev_only, "updates without the nine"


@pytest.mark.parametrize("parts", [1, 2, 4])
def test_catch_up_stops_at_the_last_complete_line(tmp_path: Path, parts: int) -> None:
    path = tmp_path / "run.jsonl"
    write(path, 200_000, seed=3, mix=Mix(bad_every=9))
    complete = path.read_bytes()
    with path.open("ab") as f:
        f.write(b'{"bellman_error": 99.0')  # no newline yet: not a line
    fd = os.open(path, os.O_RDONLY)
    try:
        done = catch_up(fd, path.stat().st_size, NOW, parts)
    finally:
        os.close(fd)
    assert done.offset == len(complete)
    assert done.lines == complete.count(b"\n")
    assert done.state == reference(complete)


def test_last_line_without_newline_counts_in_once(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write(path, 100_000, seed=4)
    data = path.read_bytes() + b'{"bellman_error": 77.5}'
    path.write_bytes(data)
    state = fold_path(str(path), NOW, parts=3)
    assert state == reference(data)
    assert state.values is not None and state.values[3] == 77.5


def test_bad_line_numbers_are_file_line_numbers_across_parts(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    write(path, 300_000, seed=5)
    lines = path.read_bytes().split(b"\n")[:-1]
    lines.insert(len(lines) - 3, b'{"bellman_error": "oops"}')
    path.write_bytes(b"\n".join(lines) + b"\n")
    state = fold_path(str(path), NOW, parts=4)
    assert (
        state.last_error == f"line {len(lines) - 3}: bellman_error is a string, expected a number"
    )
    assert state.bad_lines == 1


def test_empty_and_newline_only_files(tmp_path: Path) -> None:
    for content in (b"", b"\n\n\n"):
        path = tmp_path / "empty.jsonl"
        path.write_bytes(content)
        assert fold_path(str(path), NOW, parts=2) == FoldState()


def test_a_part_that_fails_names_the_file_and_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.jsonl"
    path.write_bytes(b'{"bellman_error": 1.0}\n' * 1000)
    real = files.read_range

    def failing_after_the_first_part(fd: int, start: int, end: int | None) -> Iterator[bytes]:
        if start > 0:  # the parts after the first are read by forked processes
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        yield from real(fd, start, end)

    monkeypatch.setattr(scan, "read_range", failing_after_the_first_part)
    # Forked readers, which share the patch, also where other tests left threads running.
    monkeypatch.setattr(scan, "_alone", lambda: True)
    with pytest.raises(ReadError) as caught:
        fold_path(str(path), NOW, parts=2)
    assert str(caught.value) == f"cannot read {path}: read failed: {os.strerror(errno.EIO)}"


@pytest.fixture
def another_thread() -> Iterator[threading.Thread]:
    """A thread at work beside the reading, as watch's file watcher and remote pollers are."""
    done = threading.Event()
    thread = threading.Thread(target=done.wait, name="beside", daemon=True)
    thread.start()
    yield thread
    done.set()
    thread.join()


@pytest.mark.parametrize("parts", [2, 3])
def test_beside_another_thread_the_parts_are_read_without_a_fork(
    log: Path, parts: int, another_thread: threading.Thread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork beside a running thread can hang the child (Python 3.12+ warns about it, an
    error here): the parts are read by fresh interpreters instead, with the same result."""

    def no_fork() -> int:
        raise AssertionError("forked while another thread runs")

    monkeypatch.setattr(os, "fork", no_fork)
    assert another_thread.is_alive()
    expected = reference(log.read_bytes(), history=7, recent=30)
    # Recorded, not raised: Python 3.12+ clears the error its fork warning would raise.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        got = fold_path(str(log), NOW, parts=parts, history=7, recent=30)
    assert [str(w.message) for w in caught if w.category is DeprecationWarning] == []
    assert repr(got) == repr(expected)  # NaN equals NaN


def test_beside_another_thread_a_reader_that_cannot_start_leaves_its_part_to_this_process(
    log: Path, another_thread: threading.Thread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(log.parent / "no-python"))
    assert fold_path(str(log), NOW, parts=3) == reference(log.read_bytes())


ALONE = """
import os, sys
from value_diag.ingest import parallel

forks = 0
real = os.fork


def counting():
    global forks
    forks += 1
    return real()


os.fork = counting
path = sys.argv[1]
parted = parallel.read_path(path, 1000.0, parts=3)
print(forks, repr(parted) == repr(parallel.read_path(path, 1000.0, parts=1)))
"""
"""A fresh interpreter folds a file in 3 parts, alone in its process as `once` is (a test
process has the threads that other tests, or the test runner, started)."""


def test_alone_the_parts_are_forked(log: Path) -> None:
    """Without other threads (once), forking is safe and the fastest start: it is used."""
    done = subprocess.run(
        [sys.executable, "-c", ALONE, str(log)],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 6,
        check=False,
    )
    assert done.stdout.split() == ["2", "True"], done.stderr
