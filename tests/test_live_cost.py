"""The live view costs the same at 256 runs as at 4: what it draws is counted, not timed.

The layout is decided from sizes (no panel is drawn while the table shows), the panels
that fit are drawn once per redraw, redraws for data are capped with the last change
drawn when due, a batch of keys is one redraw, a backlog of keys sorts the runs once, and
keys are read while a fast writer keeps the watch reading.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEADLINE
from ptyterm import Pty
from rich.console import Console

import value_diag.render.runs as runs
import value_diag.tui.tableview as tableview
from value_diag.frame import Frame
from value_diag.render.frames import Renderer
from value_diag.render.styled import StyledText
from value_diag.state import FoldState
from value_diag.tui.live import DRAW_SHARE, FRAME_S, MAX_FRAME_S, LiveSink
from value_diag.tui.tableview import Key, TableView

DENSE = b'{"td_error_mean":1.5,"bellman_error":2.5}\n'
LINE = (
    b'{"step": 1, "v_return_correlation": 0.9, "td_error_mean": 0.1, "td_error_std": 1.0,'
    b' "bellman_error": 3.0, "return_p10": -5, "return_p50": 1, "return_p90": 6,'
    b' "return_variance": 4, "return_skewness": 0.1, "compile_enabled": true,'
    b' "compile_backend": "inductor", "compile_mode": "default"}\n'
)


class Counted(Renderer):
    """A Renderer that counts the panel bodies it builds."""

    def __init__(self, lines: int | None = None) -> None:
        super().__init__()
        self.bodies = 0
        self.lines = lines
        """Lines of every body (None: the real body, "[no data]" for these frames)."""

    def body(self, frame: Frame, width: int | None = None) -> StyledText:
        self.bodies += 1
        if self.lines is not None:
            return StyledText("\n".join(f"line {k}" for k in range(self.lines)))
        return super().body(frame, width)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Cpu:
    """A CPU clock on which each redraw takes ``cost`` seconds: it moves on by that much
    at every reading (a redraw reads it when it begins and when it ends)."""

    def __init__(self, cost: float) -> None:
        self.cost = cost
        self.spent = 0.0

    def __call__(self) -> float:
        self.spent += self.cost
        return self.spent


def frames(n: int, now: float = 0.0) -> list[Frame]:
    return [Frame(f"runs/seed{i:03d}/run.jsonl", FoldState(), None, at=now) for i in range(n)]


Make = Callable[..., tuple[LiveSink, Counted, io.StringIO]]
"""The ``live`` fixture: a LiveSink on a console of 120 columns, its renderer, its output."""


@pytest.fixture
def live() -> Iterator[Make]:
    sinks: list[LiveSink] = []

    def make(
        table: bool = False,
        clock: Callable[[], float] | None = None,
        height: int = 30,
        lines: int | None = None,
        cpu: Callable[[], float] | None = None,
    ) -> tuple[LiveSink, Counted, io.StringIO]:
        out = io.StringIO()
        console = Console(file=out, width=120, height=height, force_terminal=True)
        renderer = Counted(lines)
        if clock is None:
            sink = LiveSink(console, renderer, table)
        else:  # on a clock of the test's, redraws take no time unless ``cpu`` says
            sink = LiveSink(console, renderer, table, clock, cpu=cpu or Cpu(0.0))
        sink.__enter__()
        sinks.append(sink)
        return sink, renderer, out

    yield make
    for sink in sinks:
        sink.__exit__(None, None, None)


@pytest.mark.parametrize("count", [11, 40, 256])
def test_no_panel_is_drawn_while_the_table_shows(live: Make, count: int) -> None:
    sink, renderer, out = live()
    for second in range(3):
        sink.tick(frames(count, second), second)
        sink.flush()
    assert renderer.bodies == 0
    assert f"{count} runs" in out.getvalue(), "the table is what was drawn"


def test_no_panel_is_drawn_under_table_even_when_they_would_fit(
    live: Make,
) -> None:
    sink, renderer, out = live(table=True)
    sink.tick(frames(2), 0.0)
    assert renderer.bodies == 0
    assert "2 runs" in out.getvalue()


def test_panels_that_fit_are_built_once_per_redraw(
    live: Make,
) -> None:
    sink, renderer, out = live()
    sink.tick(frames(3), 0.0)
    assert sink.redraws == 1
    assert renderer.bodies == 3, "each panel once: the panels measured are the ones shown"
    assert out.getvalue().count("seed001") >= 1


def test_panels_stop_being_built_once_they_overflow(
    live: Make,
) -> None:
    sink, renderer, out = live(height=10, lines=5)  # panels of 7 lines: the second overflows
    sink.tick(frames(3), 0.0)
    assert renderer.bodies == 2
    assert "3 runs" in out.getvalue(), "the table shows"
    sink, renderer, out = live(height=8)  # three panels of 3 lines at least: never drawn
    sink.tick(frames(3), 0.0)
    assert renderer.bodies == 0 and "3 runs" in out.getvalue()
    sink, renderer, out = live(height=9, lines=1)  # three panels of exactly 3 lines fit
    sink.tick(frames(3), 0.0)
    assert renderer.bodies == 3 and "3 runs" not in out.getvalue()


def test_redraws_for_data_are_capped_and_the_last_is_drawn_when_due(
    live: Make,
) -> None:
    clock = Clock()
    sink, _renderer, out = live(clock=clock)
    sink.tick(frames(40, 0.0), 0.0)
    assert sink.redraws == 1 and sink.due() is None
    for k in range(1, 6):  # five changes within FRAME_S: held back
        sink.show(frames(40 + k, 0.0), [0], 0.0)
    assert sink.redraws == 1
    assert sink.due() == pytest.approx(FRAME_S)
    sink.flush()
    assert sink.redraws == 1, "not due yet"
    clock.now += FRAME_S
    assert sink.due() == 0.0
    sink.flush()
    assert sink.redraws == 2 and sink.due() is None
    assert "45 runs" in out.getvalue(), "the last change is the one drawn"
    sink.flush()
    assert sink.redraws == 2, "nothing held back: nothing drawn"


def test_a_costly_redraw_holds_the_next_back_to_draw_with_a_tenth_of_a_core(
    live: Make,
) -> None:
    """A redraw that takes t of CPU is followed by the next for data no sooner than
    t / DRAW_SHARE after it, at most MAX_FRAME_S; the last change is drawn then, and keys
    are answered at once."""
    gap = (FRAME_S + MAX_FRAME_S) / 2  # between the least and the most the cap holds back
    clock, cpu = Clock(), Cpu(gap * DRAW_SHARE)
    sink, _renderer, out = live(clock=clock, cpu=cpu)
    sink.tick(frames(40, 0.0), 0.0)
    sink.show(frames(41, 0.0), [0], 0.0)
    sink.show(frames(42, 0.0), [0], 0.0)
    assert sink.redraws == 1 and sink.due() == pytest.approx(gap)
    clock.now += FRAME_S
    sink.flush()
    assert sink.redraws == 1, "held back past FRAME_S"
    clock.now += gap - FRAME_S
    sink.flush()
    assert sink.redraws == 2 and "42 runs" in out.getvalue(), "the last change, when due"
    assert sink.press([Key.DOWN]) is False
    assert sink.redraws == 3, "a key is answered at once"
    cpu.cost = 10 * MAX_FRAME_S  # a redraw of ten seconds: the next within MAX_FRAME_S
    assert sink.press([Key.DOWN]) is False
    sink.show(frames(43, 0.0), [0], 0.0)
    assert sink.redraws == 4 and sink.due() == pytest.approx(MAX_FRAME_S)
    cpu.cost = 0.0  # cheap again: the cap is FRAME_S after a cheap redraw
    clock.now += MAX_FRAME_S
    sink.flush()
    assert sink.redraws == 5 and "43 runs" in out.getvalue()
    sink.show(frames(44, 0.0), [0], 0.0)
    assert sink.redraws == 5 and sink.due() == pytest.approx(FRAME_S)


def test_a_batch_of_keys_is_one_redraw_at_once(live: Make) -> None:
    clock = Clock()
    sink, _renderer, _out = live(clock=clock)
    sink.tick(frames(256, 0.0), 0.0)
    assert sink.redraws == 1
    assert sink.press([Key.DOWN] * 50) is False
    assert sink.redraws == 2, "one redraw for the batch, not held back by the cap"
    assert sink.view.index() == 50


def test_a_backlog_of_keys_sorts_the_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = runs.ordered

    def counting(*args: Any, **kwargs: Any) -> list[runs.Run]:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(tableview, "ordered", counting)
    view = TableView().with_frames(frames(1000), 0.0).sized(30)
    calls = 0
    for key in [Key.DOWN, Key.PAGE_DOWN, Key.UP, Key.END, Key.HOME] * 600:  # 3,000 keys
        view = view.press(key)
    assert calls <= 1
    assert view.index() == 0


def test_a_stop_signal_ends_a_backlog_of_keys(live: Make) -> None:
    sink, _renderer, _out = live()
    sink.tick(frames(1000, 0.0), 0.0)
    stopping = False
    sink.stop_when(lambda: stopping)
    stopping = True
    assert sink.press([Key.DOWN] * 3000) is True
    assert sink.view.index() < 3000 and sink.redraws == 1, "not gone through, not drawn"


# --------------------------------------------------------------------------- on a terminal


@pytest.fixture
def burst(tmp_path: Path) -> Iterator[Path]:
    """Twelve runs, and a thirteenth that a writer appends to faster than it is folded:
    every pass of the watch ends with bytes still to read."""
    for seed in range(12):
        run = tmp_path / "runs" / f"seed{seed}" / "run.jsonl"
        run.parent.mkdir(parents=True)
        run.write_bytes(LINE)
    fast = tmp_path / "runs" / "fast" / "run.jsonl"
    fast.parent.mkdir(parents=True)
    fast.write_bytes(LINE)
    yield fast


def writing(path: Path) -> subprocess.Popen[bytes]:
    """Appends dense records at about 40 MB/s (faster than they fold) until killed."""
    code = (
        "import os, sys, time\n"
        f"block = {DENSE!r} * 50000\n"
        "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)\n"
        "while True:\n"
        "    os.write(fd, block)\n"
        "    time.sleep(0.05)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(path)])


def test_keys_are_read_while_a_burst_is_caught_up(burst: Path, tmp_path: Path) -> None:
    term = Pty(["watch", "runs/", "--table"], tmp_path, cols=100, rows=30)
    term.settled(lambda s: any("13 runs" in row for row in s), "the table")
    writer = writing(burst)
    try:
        term.wait_for(lambda s: any(" fast " in row and " 2.5 " in row for row in s), "the burst")
        os.write(term.master, b"?")
        term.wait_for(lambda s: any("q quit" in row for row in s), "the help, during the burst")
        os.write(term.master, b"q")
        assert term.popen.wait(timeout=DEADLINE) == 0, "q quits during the burst"
        assert writer.poll() is None, "the writer was still writing"
    finally:
        writer.kill()
        writer.wait()
        term.close()


def selected(term: Pty) -> str | None:
    """The name on the selected (reverse video) row of the screen as it is now."""
    with term.changed:
        for y in range(term.screen.lines):
            line = term.screen.buffer[y]
            if line[0].reverse:
                return "".join(line[x].data for x in range(term.screen.columns)).split()[0]
    return None


def test_a_burst_of_keys_on_a_terminal_is_one_redraw(tmp_path: Path) -> None:
    for seed in range(64):
        run = tmp_path / "runs" / f"seed{seed}" / "run.jsonl"
        run.parent.mkdir(parents=True)
        run.write_bytes(LINE)
    term = Pty(["watch", "runs/"], tmp_path, cols=100, rows=30)
    try:
        term.settled(lambda s: any("64 runs" in row for row in s), "the table")
        with term.changed:
            start = len(term.raw)
        os.write(term.master, b"j" * 40)
        term.settled(lambda s: selected(term) == "seed40", "the 41st run selected")
        with term.changed:
            homes = bytes(term.raw[start:]).count(b"\x1b[H")
        assert 1 <= homes <= 2, f"{homes} redraws (one for the keys, perhaps one for the age)"
    finally:
        term.close()


def aged(n: int) -> list[Frame]:
    """Runs last written at 0.0, judged then."""
    return [
        Frame(f"runs/seed{i:04d}/run.jsonl", FoldState(records=1, last_update=0.0), None, at=0.0)
        for i in range(n)
    ]


def test_a_redraw_for_the_age_sorts_no_run_and_makes_only_the_ages_again(
    live: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At thousands of runs a tick a second must not sort them or measure every column:
    while no frame changes, only the age column is made again, and the ages still move."""
    import value_diag.render.compare as compare
    import value_diag.render.table as table

    made = {"sorts": 0, "columns": 0}
    real_ordered, real_assemble = runs.ordered, compare.assemble

    def sorting(*args: Any, **kwargs: Any) -> list[runs.Run]:
        made["sorts"] += 1
        return real_ordered(*args, **kwargs)

    def measuring(*args: Any, **kwargs: Any) -> Any:
        made["columns"] += 1
        return real_assemble(*args, **kwargs)

    monkeypatch.setattr(tableview, "ordered", sorting)
    monkeypatch.setattr(table, "assemble", measuring)
    clock = Clock()
    sink, _renderer, out = live(clock=clock)
    shown = aged(2000)
    sink.tick(shown, 10.0)
    assert made == {"sorts": 1, "columns": 1}
    for second in (11.0, 12.0):
        clock.now += 1.0
        sink.tick(list(shown), second)  # the same frames: a redraw for the age
    assert made == {"sorts": 1, "columns": 1}
    assert sink.redraws == 3
    assert "12s" in out.getvalue().rsplit("2000 runs", 1)[-1], "the last screen's ages moved"
    clock.now += 1.0
    changed = [*shown[:-1], aged(2000)[-1]]  # one run's frame is new: put in its place
    sink.show(changed, [1999], 13.0)
    assert made == {"sorts": 1, "columns": 2}
    assert sink.view.order() == runs.ordered(sink.view.runs.values(), sink.view.sort)


def test_a_new_frame_of_one_run_measures_its_own_cells_and_each_age_shown_once(
    live: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The columns' widths are counted over the runs' cells as runs change: one run's new
    frame among 2,000 measures its own cells, and the ages (the time moved) each text once,
    not every cell of every column again."""
    from rich.cells import cell_len as real

    measured = 0

    def counting(text: str) -> int:
        nonlocal measured
        measured += 1
        return real(text)

    clock = Clock()
    sink, _renderer, out = live(clock=clock)
    shown = aged(2000)
    sink.tick(shown, 10.0)
    monkeypatch.setattr("value_diag.render.compare.cell_len", counting)
    clock.now += 1.0
    sink.show([*shown[:-1], aged(2000)[-1]], [1999], 11.0)
    assert measured <= 100, "the labels, one run's cells and the two ages shown"
    assert sink.redraws == 2 and "2000 runs" in out.getvalue()


def test_a_screen_drawn_as_the_last_one_is_not_written_again(live: Make) -> None:
    """Changes out of sight (a run below the screen, an age that reads the same) draw the
    screen but write nothing; what the screen shows differently is written."""
    clock = Clock()
    sink, _renderer, out = live(clock=clock)
    shown = frames(2000)
    sink.tick(shown, 0.0)
    assert (sink.redraws, sink.writes) == (1, 1)
    written = len(out.getvalue())
    clock.now += FRAME_S
    sink.show([*shown[:-1], frames(2000)[-1]], [1999], 0.0)  # the last run, out of sight
    clock.now += FRAME_S
    sink.tick(list(shown), 0.0)
    sink.flush()
    assert sink.redraws == 3 and sink.writes == 1
    assert len(out.getvalue()) == written, "nothing more reached the terminal"
    sink.press([Key.DOWN])  # the cursor moves: a different screen
    assert sink.writes == 2 and len(out.getvalue()) > written
    written = len(out.getvalue())
    sink.console.size = (100, 30)  # the terminal narrowed: the same view, another screen
    clock.now += FRAME_S
    sink.tick(list(shown), 0.0)
    assert sink.writes == 3 and len(out.getvalue()) > written
