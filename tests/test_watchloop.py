"""The watch loops driven in-process one pass at a time: a fake clock, a fake notifier,
a sink that records what it is asked to show."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import value_diag.follow.judging as judging
import value_diag.follow.loop as loop_module
from value_diag.commands.paths import targets
from value_diag.exitcodes import ExitCode
from value_diag.follow.loop import AGE_REFRESH_S, StdinLoop, WatchLoop, WatchOptions
from value_diag.follow.stopper import Stopper
from value_diag.follow.waker import NOTHING, UNKNOWN, Wake
from value_diag.follow.watchlist import Runs
from value_diag.frame import Frame
from value_diag.health import DEFAULT_RULES, Status
from value_diag.render.frames import Renderer
from value_diag.render.series import Series
from value_diag.render.sinks import KeySource


def line(step: int, bellman: float = 3.0) -> bytes:
    return (
        f'{{"step": {step}, "v_return_correlation": 0.9, "td_error_mean": 0.1,'
        f' "td_error_std": 1.0, "bellman_error": {bellman}, "return_p10": -5,'
        ' "return_p50": 1, "return_p90": 6, "return_variance": 4, "return_skewness": 0.1}\n'
    ).encode()


class Clock:
    """Time that moves only when told."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeWaker:
    """Says what the test queued (nothing changed, once the queue is empty)."""

    def __init__(self, wakes: deque[Wake]) -> None:
        self.wakes = wakes
        self.fallback: str | None = None
        self.timeouts: list[float | None] = []
        self.closed = False

    def wait(self, timeout: float | None = None) -> Wake:
        self.timeouts.append(timeout)
        return self.wakes.popleft() if self.wakes else NOTHING

    def close(self) -> None:
        self.closed = True


class Recorder:
    """A Sink that keeps what it was asked to do."""

    def __init__(self) -> None:
        self.renderer = Renderer()
        self.shown: list[tuple[list[Frame], list[int]]] = []
        self.ticks = 0
        self.pressed: list[list[str]] = []
        self.said: list[str] = []
        self.held: float | None = None
        self.flushes = 0

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def show(self, frames: list[Frame], changed: list[int], now: float) -> None:
        self.shown.append((frames, changed))

    def tick(self, frames: list[Frame], now: float) -> None:
        self.ticks += 1

    def conclude(self, line: str) -> None:
        self.said.append(line)

    def keys(self) -> KeySource | None:
        return None

    def press(self, keys: list[str]) -> bool:
        self.pressed.append(keys)
        return "q" in keys

    def stop_when(self, stopping: Callable[[], bool]) -> None:
        pass

    def abandon(self) -> None:
        pass

    def due(self) -> float | None:
        return self.held

    def flush(self) -> None:
        self.flushes += 1

    def histories(self, read: Callable[[Frame], Series]) -> None:
        self.history = read


class FakeKeys:
    """Keys waiting to be read, a batch at a time."""

    def __init__(self) -> None:
        self.batches: deque[list[str]] = deque()
        self.fd = -1

    def __enter__(self) -> FakeKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def pending(self) -> bool:
        return bool(self.batches)

    def read_keys(self) -> list[str]:
        return self.batches.popleft()


class Harness:
    def __init__(self, root: Path, paths: list[str], **options: Any) -> None:
        self.clock = Clock()
        self.ticks = Clock()
        self.wakes: deque[Wake] = deque()
        self.wakers: list[FakeWaker] = []
        self.sink = Recorder()
        self.keys = FakeKeys()
        self.stopper = Stopper()
        self.options = WatchOptions(**options)
        runs = Runs(targets(paths), False, wake=self.stopper.poke, poll=1.0)

        def notifier(*args: object) -> FakeWaker:
            waker = FakeWaker(self.wakes)
            self.wakers.append(waker)
            return waker

        self.loop = WatchLoop(
            runs,
            self.sink,
            self.options,
            self.stopper,
            self.clock,
            self.keys,
            notifier,
            self.ticks,
        )
        self.loop.start()


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b"):
        (tmp_path / f"{name}.jsonl").write_bytes(line(1))
    h = Harness(tmp_path, ["a.jsonl", "b.jsonl"])
    yield h
    h.loop.close()


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as f:
        f.write(data)


def test_the_first_pass_shows_every_run_and_an_unchanged_run_is_not_judged_again(
    two: Harness,
) -> None:
    assert two.loop.step() is None
    frames, changed = two.sink.shown[0]
    assert [f.short or f.source for f in frames] == ["a", "b"] and changed == [0, 1]
    assert two.loop.step() is None
    assert len(two.sink.shown) == 1, "nothing changed: nothing shown"
    assert two.loop.judge()[0][0] is frames[0], "the same frame, judged once"


def test_a_change_the_notifier_names_is_read_and_shown_alone(two: Harness, tmp_path: Path) -> None:
    two.loop.step()
    append(tmp_path / "b.jsonl", line(2))
    two.wakes.append(Wake(frozenset({str(tmp_path / "b.jsonl")})))
    two.loop.step()  # waits (the change named), reads b
    two.loop.step()  # shows it
    frames, changed = two.sink.shown[-1]
    assert changed == [1] and frames[1].state.step == 2


def test_a_change_not_named_is_read_at_the_latest_after_check_all(
    two: Harness, tmp_path: Path
) -> None:
    two.loop.step()
    append(tmp_path / "a.jsonl", line(2))
    two.loop.step()
    two.loop.step()
    assert len(two.sink.shown) == 1, "the notifier named nothing: a is not read yet"
    two.ticks.now += 1.0  # CHECK_ALL_S
    two.loop.step()
    two.loop.step()
    assert two.sink.shown[-1][1] == [0]


def test_a_big_sweeps_files_take_turns_under_the_net_and_every_change_is_read(
    two: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond NET_FILES files, the net of CHECK_ALL_S looks at NET_FILES of them in turn
    (here one of two), so that no change the notifier missed stays unread for long."""
    monkeypatch.setattr(loop_module, "NET_FILES", 1, raising=False)
    two.loop.step()
    append(tmp_path / "a.jsonl", line(2))
    append(tmp_path / "b.jsonl", line(2))
    two.ticks.now += 1.0  # CHECK_ALL_S
    two.loop.step()
    two.loop.step()
    assert two.sink.shown[-1][1] == [0], "the net's first turn: a alone"
    two.ticks.now += 1.0
    two.loop.step()
    two.loop.step()
    frames, changed = two.sink.shown[-1]
    assert changed == [1], "its next turn: b"
    assert [f.state.step for f in frames] == [2, 2]


def test_the_age_is_redrawn_once_a_second_by_the_clock(two: Harness) -> None:
    two.loop.step()
    two.loop.step()
    assert two.sink.ticks == 0
    two.clock.now += AGE_REFRESH_S
    two.loop.step()
    assert two.sink.ticks == 1


def test_the_wait_is_no_longer_than_the_frame_the_sink_holds_back(two: Harness) -> None:
    two.sink.held = 0.04
    two.loop.step()
    assert two.wakers[0].timeouts == [0.04]
    assert two.sink.flushes == 1


def test_keys_are_dispatched_as_a_batch_and_q_ends(two: Harness) -> None:
    two.keys.batches.append(["down", "down", "up"])
    assert two.loop.step() is None
    assert two.sink.pressed == [["down", "down", "up"]]
    two.keys.batches.append(["q"])
    assert two.loop.step() is ExitCode.OK


def test_keys_are_read_while_reading_is_behind(two: Harness) -> None:
    two.loop.step()
    two.loop.sources[0].pending = True  # a burst is being caught up: no wait
    two.keys.batches.append(["q"])
    assert two.loop.step() is ExitCode.OK
    assert two.wakers[0].timeouts == [None], "the second pass did not wait"


def test_a_run_file_created_below_a_root_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "s1").mkdir(parents=True)
    (tmp_path / "runs" / "s1" / "run.jsonl").write_bytes(line(1))
    h = Harness(tmp_path, ["runs/"])
    try:
        h.loop.step()
        assert len(h.sink.shown[-1][0]) == 1
        (tmp_path / "runs" / "s2").mkdir()
        (tmp_path / "runs" / "s2" / "run.jsonl").write_bytes(line(1))
        h.wakes.append(Wake(None, added=True))
        h.loop.step()
        h.loop.step()
        assert len(h.sink.shown[-1][0]) == 2
        assert len(h.wakers) == 2 and h.wakers[0].closed, "a notifier for the new files"
    finally:
        h.loop.close()


def test_fail_on_ends_the_loop_with_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_bytes(line(1))
    h = Harness(tmp_path, ["a.jsonl"], fail_on=Status.CRITICAL)
    try:
        assert h.loop.step() is None
        append(tmp_path / "a.jsonl", line(2, bellman=80.0))
        h.wakes.append(UNKNOWN)
        assert h.loop.step() is None
        assert h.loop.step() is ExitCode.FAIL
        assert h.stopper.code == ExitCode.FAIL
        assert any("critical" in said for said in h.sink.said)
    finally:
        h.loop.close()


def test_the_stdin_loop_shows_a_frame_per_batch_and_the_last_at_the_end() -> None:
    r, w = os.pipe()
    os.write(w, line(1) + line(2))
    os.close(w)
    sink = Recorder()
    stopper = Stopper()
    try:
        loop = StdinLoop(sink, WatchOptions(), stopper, Clock(), fd=r)
        assert loop.run() is ExitCode.OK
    finally:
        os.close(r)
    assert sink.shown[0][0][0].state.step is None, "the first frame before any read"
    assert sink.shown[-1][0][0].state.step == 2


def test_a_pass_that_read_nothing_judges_nothing_until_a_run_goes_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = judging.frames_of

    def counting(*args: Any) -> tuple[list[Frame], list[int]]:
        nonlocal calls
        calls += 1
        return real(*args)

    monkeypatch.setattr(loop_module, "frames_of", counting)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_bytes(line(1))
    h = Harness(tmp_path, ["a.jsonl"], rules=replace(DEFAULT_RULES, max_age=5.0))
    try:
        for _ in range(4):
            h.loop.step()
        assert calls == 1, "judged once, at the first pass"
        h.clock.now += 6.0  # past --max-age: the run goes stale, and is judged again
        h.loop.step()
        assert calls == 2
        frames, changed = h.sink.shown[-1]
        assert changed == [0] and frames[0].health.stale is not None
        h.loop.step()
        assert calls == 2, "stale already: nothing left to go stale"
    finally:
        h.loop.close()
