"""The live table of a sweep, on a real terminal: what it shows, and the keys.

`value-diag watch runs/` on a pseudo-terminal read back with pyte: 64 runs in 100x30,
the header's counts, rows that do not fit counted, the keys (j/k and arrows, Enter, Esc,
s, ?, q), a run that starts later, and the terminal as it was after q.
"""

from __future__ import annotations

import os
import re
import signal
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import DEADLINE
from ptyterm import Pty
from telemetry import healthy
from watching import append

RUNS = 64
DYING = (3, 17, 40)
"""Seeds whose Bellman error is critical."""
WORRYING = (5, 6)
"""Seeds whose Bellman error is a warning."""


def sweep(root: Path, n: int = RUNS) -> None:
    for seed in range(n):
        bellman = 80.0 if seed in DYING else 30.0 if seed in WORRYING else 3.0
        run = root / "runs" / f"seed{seed}" / "run.jsonl"
        run.parent.mkdir(parents=True)
        run.write_text(healthy(bellman, step=seed * 10))


@pytest.fixture
def table(tmp_path: Path) -> Iterator[Callable[..., Pty]]:
    started: list[Pty] = []

    def start(*args: str, cols: int = 100, rows: int = 30) -> Pty:
        term = Pty(["watch", "runs/", *args], tmp_path, cols=cols, rows=rows)
        started.append(term)
        return term

    sweep(tmp_path)
    yield start
    for term in started:
        term.close()


def shows(text: str) -> Callable[[list[str]], bool]:
    return lambda screen: any(text in row for row in screen)


def press(term: Pty, keys: bytes) -> None:
    os.write(term.master, keys)


def selected(term: Pty) -> str | None:
    """The name on the selected (reverse video) row of the screen as it is now; None while
    none is (a redraw half arrived)."""
    with term.changed:
        for y in range(term.screen.lines):
            line = term.screen.buffer[y]
            if line[0].reverse:
                return "".join(line[x].data for x in range(term.screen.columns)).split()[0]
    return None


def test_64_runs_fill_a_100x30_terminal_as_one_table(table: Callable[..., Pty]) -> None:
    term = table()
    screen = term.settled(shows("64 runs"), "the header")
    assert all(len(row.rstrip()) <= 100 for row in screen)
    header = next(row for row in screen if "64 runs" in row)
    assert re.search(r"64 runs · 3 critical · 2 warning\b", header), header
    rows = [row for row in screen if re.match(r"\s*seed\d+\s", row)]
    more = next(row for row in screen if re.search(r"↓ \d+ more", row))
    hidden = int(re.search(r"↓ (\d+) more", more).group(1))  # type: ignore[union-attr]
    assert len(rows) + hidden == RUNS, "every run is shown or counted"
    # Worst first: the three critical runs on top (natural order), then the warnings.
    assert [r.split()[0] for r in rows[:5]] == ["seed3", "seed17", "seed40", "seed5", "seed6"]
    assert "age" in screen[1] or any("step" in row for row in screen[:3])
    assert term.finish() == 0


def test_keys_move_open_sort_help_and_quit(table: Callable[..., Pty]) -> None:
    term = table()
    term.settled(shows("64 runs"), "the table")
    assert selected(term) == "seed3"
    press(term, b"j")
    term.settled(lambda s: selected(term) == "seed17", "j moving down")
    press(term, b"\x1b[B")  # down arrow
    term.settled(lambda s: selected(term) == "seed40", "the arrow moving down")
    press(term, b"k")
    term.settled(lambda s: selected(term) == "seed17", "k moving up")
    press(term, b"\r")
    panel = term.settled(shows("Esc back"), "the run's panel")
    assert any("seed17" in row for row in panel) and any("Bellman" in row for row in panel)
    press(term, b"\x1b")
    term.settled(shows("64 runs"), "Esc going back to the table")
    press(term, b"s")
    term.settled(shows("sort: name"), "s sorting by name")
    press(term, b"\x1b[H")  # Home
    term.settled(lambda s: selected(term) == "seed0", "Home selecting the first run")
    press(term, b"\x1b[6~")  # PgDn: a screenful of rows further, the view scrolled with it
    paged = term.settled(lambda s: selected(term) not in ("seed0", "seed1"), "PgDn")
    assert any("↑" in row and "more" in row for row in paged), "the rows above are counted"
    press(term, b"\x1b[5~")  # PgUp: back to the top
    term.settled(lambda s: selected(term) == "seed0", "PgUp going back a page")
    press(term, b"\x1b[F")  # End
    term.settled(lambda s: selected(term) == "seed63", "End selecting the last run")
    press(term, b"?")
    term.settled(shows("q quit"), "the help")
    press(term, b"?")
    term.settled(shows("64 runs"), "? going back")
    before = term.screen.alt_entries
    press(term, b"q")
    assert term.popen.wait(timeout=DEADLINE) == 0, "q quits with exit 0"
    term.reader.join(timeout=DEADLINE)
    assert before == 1 and not term.screen.in_alt, "the normal screen is back"
    assert "Traceback" not in term.text


def test_a_run_that_starts_later_gets_a_row(table: Callable[..., Pty], tmp_path: Path) -> None:
    term = table()
    term.settled(shows("64 runs"), "the table")
    run = tmp_path / "runs" / "seed64" / "run.jsonl"
    run.parent.mkdir()
    append(run, healthy(90.0))
    screen = term.settled(shows("65 runs · 4 critical"), "the new run counted")
    assert any(row.split()[:1] == ["seed64"] for row in screen), "a critical run on top"
    assert term.finish() == 0


def test_the_selection_follows_its_run_when_the_order_changes(
    table: Callable[..., Pty], tmp_path: Path
) -> None:
    term = table()
    term.settled(shows("64 runs"), "the table")
    press(term, b"jj")
    term.settled(lambda s: selected(term) == "seed40", "the third row")
    append(tmp_path / "runs" / "seed1" / "run.jsonl", healthy(99.0))  # now critical, first
    term.settled(shows("4 critical"), "seed1 turning critical")
    time.sleep(0.2)
    assert selected(term) == "seed40"
    assert term.finish() == 0


def test_ctrl_c_restores_the_terminal(table: Callable[..., Pty]) -> None:
    term = table()
    term.settled(shows("64 runs"), "the table")
    os.kill(term.popen.pid, signal.SIGINT)
    assert term.popen.wait(timeout=DEADLINE) == 0
    term.reader.join(timeout=DEADLINE)
    assert not term.screen.in_alt


def test_few_runs_get_panels_unless_table_is_asked(tmp_path: Path) -> None:
    sweep(tmp_path, 2)
    panels = Pty(["watch", "runs/"], tmp_path, cols=100, rows=30)
    tabled = Pty(["watch", "runs/", "--table"], tmp_path, cols=100, rows=30)
    try:
        panels.wait_for(shows("VALUE DIAGNOSTICS: seed0"), "a panel per run")
        tabled.wait_for(shows("2 runs"), "the table")
        assert panels.finish() == 0 and tabled.finish() == 0
    finally:
        panels.close()
        tabled.close()


def _state(pid: int) -> str:
    """The process's state letter (T: stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _line_editing(term: Pty) -> bool:
    """Whether the pty is in canonical mode with echo, as a shell leaves it."""
    lflag = termios.tcgetattr(term.master)[3]
    return bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)


def test_ctrl_z_gives_the_terminal_back_and_fg_the_table(table: Callable[..., Pty]) -> None:
    term = table()
    term.settled(shows("64 runs"), "the table")
    assert term.screen.in_alt and not _line_editing(term)
    os.kill(term.popen.pid, signal.SIGTSTP)
    deadline = time.monotonic() + DEADLINE
    while _state(term.popen.pid) != "T":
        if time.monotonic() > deadline:  # a safety net, not a measure
            pytest.fail("Ctrl-Z did not stop the watch")
        time.sleep(0.05)
    # What it wrote before it stopped reaches the screen through the reader thread:
    # waited for, not raced (a loaded machine runs that thread late).
    term.wait_for(lambda _: not term.screen.in_alt, "stopped: the normal screen back")
    assert _line_editing(term), "stopped: echo and line editing are back"
    os.kill(term.popen.pid, signal.SIGCONT)
    term.settled(lambda s: term.screen.in_alt and any("64 runs" in r for r in s), "fg")
    assert not _line_editing(term), "continued: keys are read one by one again"
    press(term, b"q")
    assert term.popen.wait(timeout=DEADLINE) == 0


def test_w_says_what_to_check_first_for_the_selected_run_and_esc_goes_back(
    table: Callable[..., Pty],
) -> None:
    """The "When a metric is red" row of the selected run's culprit, on the live screen."""
    term = table()
    term.settled(shows("64 runs"), "the table")
    assert selected(term) == "seed3"  # critical on Bellman
    press(term, b"w")
    advice = term.settled(shows("check first:"), "what to check first")
    assert any(row.startswith("seed3 · critical") for row in advice), advice
    assert any(row.startswith("Bellman high (≥ 20, ≥ 50)") for row in advice), advice
    assert any("Learning rate too high" in row for row in advice), advice
    press(term, b"\x1b")
    term.settled(shows("64 runs"), "Esc going back to the table")
    press(term, b"\x1b[F")  # End: a healthy run
    term.settled(lambda s: selected(term) not in (None, "seed3"), "End")
    press(term, b"w")
    term.settled(shows("nothing alarms: nothing to check"), "a healthy run's screen")
    press(term, b"w")
    term.settled(shows("64 runs"), "w closing it again")
    assert term.quits() == 0
