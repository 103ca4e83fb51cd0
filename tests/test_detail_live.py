"""A run's detail in the live view: Enter opens its panel and its charts, keys pick the
chart, show them all, smooth them and put every run on them; read on a real pty."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ptyterm import Pty
from telemetry import metrics

HEALTHY = metrics()
HINT = "Esc back"
UPDATES = 200
"""More updates than watch keeps of a run (its trend's 60): the charts read them all."""


def write_run(path: Path, updates: int = UPDATES, first: int = 0, corr: float = 0.9) -> Path:
    with path.open("a", encoding="utf-8") as f:
        for i in range(first, first + updates):
            row = {**HEALTHY, "v_return_correlation": corr - 0.002 * i}
            f.write(json.dumps({"step": 100 * (i + 1), **row}) + "\n")
    return path


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Callable[..., Pty]]:
    opened: list[Pty] = []

    def start(*args: str, cols: int = 100, rows: int = 40) -> Pty:
        t = Pty(["watch", *args], tmp_path, cols=cols, rows=rows)
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()


def has(text: str) -> Callable[[list[str]], bool]:
    return lambda screen: any(text in line for line in screen)


def key(t: Pty, data: bytes) -> None:
    os.write(t.master, data)


def chart_title(screen: list[str]) -> str:
    line = next(i for i, s in enumerate(screen) if s.startswith("╰"))
    return screen[line + 1].split(" · ")[0]


def test_enter_opens_the_run_s_panel_and_its_charts(tmp_path: Path, term: Any) -> None:
    write_run(tmp_path / "run.jsonl")
    t = term("run.jsonl")
    t.wait_for(has("VALUE DIAGNOSTICS"), "the panel")
    key(t, b"\r")
    screen = t.settled(has(HINT), "the detail")
    assert screen[0].startswith("╭")  # the panel on top, nothing pushed off the screen
    assert chart_title(screen) == "V-Corr"
    # Every update of the file is on the chart, not the 60 watch keeps for the trend.
    ticks = next(s for s in reversed(screen) if s.split()[-1:] == [str(100 * UPDATES)])
    assert ticks.split()[0] == "100"
    assert any("┤" in s and s.split("┤")[0].strip() == "0.9" for s in screen)
    key(t, b"\x1b")
    t.settled(lambda s: not has(HINT)(s) and has("VALUE DIAGNOSTICS")(s), "the panel again")
    assert t.finish() == 0


def test_keys_pick_the_chart_show_them_all_and_smooth_them(tmp_path: Path, term: Any) -> None:
    write_run(tmp_path / "run.jsonl")
    t = term("run.jsonl")
    t.wait_for(has("VALUE DIAGNOSTICS"), "the panel")
    key(t, b"\r")
    t.settled(has(HINT), "the detail")
    key(t, b"\x1b[C")  # right: the next chart
    assert chart_title(t.settled(has("Bellman · "), "Bellman's chart")) == "Bellman"
    key(t, b"l")
    assert chart_title(t.settled(has("TD Mean · "), "TD Mean's chart")) == "TD Mean"
    key(t, b"h\x1b[D")  # back twice
    assert chart_title(t.settled(has("V-Corr · "), "V-Corr's chart")) == "V-Corr"
    key(t, b"e")
    t.settled(has("· smoothed 0.6"), "smoothing")
    key(t, b"a")
    screen = t.settled(has("more charts: a shows one at a time"), "every chart")
    assert sum(s.count("└") for s in screen) >= 4
    assert any(s.count(" · ") >= 2 for s in screen)  # two charts side by side
    assert t.quits() == 0


def test_every_run_on_the_chart(tmp_path: Path, term: Any) -> None:
    write_run(tmp_path / "seed0.jsonl")
    write_run(tmp_path / "seed1.jsonl", corr=0.8)
    t = term(".", "--table")
    t.wait_for(has("seed1"), "the table")
    key(t, b"\r")
    t.settled(has(HINT), "the detail")
    key(t, b"o")
    screen = t.settled(has("━━ seed"), "both runs on the chart")
    legend = next(s for s in screen if "━━" in s)
    assert "━━ seed0" in legend and "━━ seed1" in legend
    assert t.quits() == 0


def test_the_marked_runs_share_the_chart(tmp_path: Path, term: Any) -> None:
    for i, corr in enumerate((0.9, 0.8, 0.7)):
        write_run(tmp_path / f"seed{i}.jsonl", corr=corr)
    t = term(".", "--table")
    t.wait_for(has("seed2"), "the table")
    rows = t.settled(has("seed2"), "the table")
    order = [n for s in rows for n in ("seed0", "seed1", "seed2") if n in s]
    # Mark the last row's run, then open the first row's: o draws the two, not the third.
    key(t, b"\x1b[F ")
    marked = t.settled(has("●"), "a mark")
    assert any("●" in s and order[-1] in s for s in marked)
    key(t, b"\x1b[H\r")
    t.settled(has(HINT), "the detail")
    key(t, b"o")
    screen = t.settled(has("━━ seed"), "the marked run on the chart")
    legend = next(s for s in screen if "━━" in s)
    assert f"━━ {order[0]}" in legend and f"━━ {order[-1]}" in legend
    assert order[1] not in legend
    assert t.quits() == 0


def test_the_charts_follow_the_run_as_it_grows(tmp_path: Path, term: Any) -> None:
    run = write_run(tmp_path / "run.jsonl")
    t = term("run.jsonl")
    t.wait_for(has("VALUE DIAGNOSTICS"), "the panel")
    key(t, b"\r")
    t.settled(has(HINT), "the detail")
    write_run(run, updates=20, first=UPDATES)
    last = str(100 * (UPDATES + 20))
    screen = t.settled(lambda s: any(line.split()[-1:] == [last] for line in s), "new steps")
    assert any(s.split()[:1] == ["100"] and s.split()[-1:] == [last] for s in screen)
    assert t.quits() == 0


@pytest.mark.parametrize(("cols", "rows"), [(40, 12), (41, 13), (80, 24), (132, 43), (250, 80)])
def test_the_detail_fits_every_terminal(cols: int, rows: int, tmp_path: Path, term: Any) -> None:
    write_run(tmp_path / "run.jsonl")
    t = term("run.jsonl", cols=cols, rows=rows)
    t.wait_for(has("VALUE"), "the panel")
    for keys in (b"\r", b"a", b"a\x1b[C"):
        key(t, keys)
        screen = t.settled(has("Esc"), f"the detail after {keys!r}")
        # Nothing pushed the panel off the top, nothing wrapped under the hint line.
        assert screen[0].startswith("╭"), screen
        hint = max(i for i, s in enumerate(screen) if s.startswith("Esc"))
        assert all(not s.strip() for s in screen[hint + 1 :])
    assert t.quits() == 0


def test_watch_starts_without_the_chart_code() -> None:
    """What only an opened run draws is loaded when a run opens, not at watch's start."""
    import subprocess
    import sys

    from conftest import clean_env

    probe = (
        "import sys\n"
        "import value_diag.commands.watch, value_diag.follow.loop, value_diag.tui.live\n"
        "import value_diag.render.table, value_diag.cli.commands\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, env=clean_env(), timeout=60, check=True
    ).stdout.decode()
    loaded = set(out.split())
    chart_code = {f"value_diag.render.{m}" for m in ("chart", "chartview", "series", "detail")}
    assert "value_diag.tui.live" in loaded
    assert loaded.isdisjoint(chart_code), sorted(loaded & chart_code)
